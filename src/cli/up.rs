use super::args::UpArgs;
use super::render::{self, Mode};
use super::{Cli, Error, confirm, context};
use crate::exec::{self, Options};
use crate::state::StateWriter;
use std::sync::Arc;

pub async fn run(cli: &Cli, a: &UpArgs) -> Result<u8, Error> {
    let mode = Mode::pick(a.json);
    if mode == Mode::Json && !a.yes {
        return Err(Error::Usage(
            "--json cannot ask for confirmation\n  hint: add --yes to apply, or use `provision plan --json` to only look".into(),
        ));
    }
    let ctx = context::load(cli).await?;
    // Released however the run ends: success, failure or Ctrl-C.
    let lock = context::lock(&ctx, "up").await?;
    let result = locked(cli, a, &ctx).await;
    lock.release().await;
    result
}

async fn locked(cli: &Cli, a: &UpArgs, ctx: &context::Context) -> Result<u8, Error> {
    let mode = Mode::pick(a.json);
    let aws = ctx.aws(cli).await?;
    let state = context::state_or_found(ctx, &aws).await?;
    let plan = crate::plan::plan_up(
        &ctx.stack,
        &state,
        aws.clone(),
        a.parallelism.into(),
        !ctx.state_exists,
    )
    .await?;
    let events = render::emitter(mode);
    context::show_plan(cli, mode, &plan, &events);
    let started = std::time::Instant::now();
    if !plan.has_changes() {
        context::finish(mode, &ctx.stack.name, 0, started, "");
        return Ok(0);
    }
    let stuck: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.action == crate::plan::Action::Replace && !s.kind.replaceable())
        .map(|s| s.id.as_str())
        .collect();
    if !stuck.is_empty() {
        return Err(Error::Usage(format!(
            "{} would have to be replaced, which provision cannot do yet; nothing was changed\n  hint: see the note in the plan above",
            stuck.join(", ")
        )));
    }
    if !confirm::ask(
        a.yes,
        &format!("\nApply these changes to stack {}?", ctx.stack.name),
    )
    .await?
    {
        println!("Nothing changed.");
        return Ok(1);
    }
    if mode != Mode::Json {
        println!();
    }
    let writer = Arc::new(StateWriter::to(ctx.sink(), state));
    let opts = Options {
        parallelism: a.parallelism.into(),
        wait: !a.no_wait,
        timeout: a.timeout,
        tags: ctx.stack.tags.clone(),
        events: events.clone(),
    };
    let report = exec::execute(&plan, aws, writer, &opts).await?;
    let n = report.done.len();
    context::finish(
        mode,
        &ctx.stack.name,
        n,
        started,
        &format!(
            "\nStack {} is up: {n} changes in {:.1}s. State: {}\nSee what was created with `provision outputs`.",
            ctx.stack.name,
            started.elapsed().as_secs_f64(),
            ctx.state_path.display()
        ),
    );
    Ok(0)
}
