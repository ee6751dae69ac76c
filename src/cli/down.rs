use super::args::DownArgs;
use super::render::{self, Mode};
use super::{Cli, Error, confirm, context};
use crate::exec::{self, Options};
use crate::state::StateWriter;
use std::sync::Arc;

pub async fn run(cli: &Cli, a: &DownArgs) -> Result<u8, Error> {
    if Mode::pick(a.json) == Mode::Json && !a.yes {
        return Err(Error::Usage(
            "--json cannot ask for confirmation\n  hint: add --yes to delete".into(),
        ));
    }
    let ctx = context::load(cli).await?;
    // Released however the run ends: success, failure or Ctrl-C.
    let lock = context::lock(&ctx, "down").await?;
    let result = locked(cli, a, &ctx).await;
    lock.release().await;
    result
}

async fn locked(cli: &Cli, a: &DownArgs, ctx: &context::Context) -> Result<u8, Error> {
    let mode = Mode::pick(a.json);
    let aws = ctx.aws(cli).await?;
    let state = context::state_or_found(ctx, &aws).await?;
    let plan = crate::plan::plan_down(&ctx.stack.name, &state)?;
    let started = std::time::Instant::now();
    let events = render::emitter(mode);
    if !plan.has_changes() {
        context::finish(
            mode,
            &ctx.stack.name,
            0,
            started,
            &format!(
                "Nothing to delete: stack {} owns no resources (state: {}).",
                ctx.stack.name,
                ctx.state_path.display()
            ),
        );
        return Ok(0);
    }
    context::show_plan(cli, mode, &plan, &events);
    if mode != Mode::Json {
        println!(
            "Only what the stack created is deleted; what it merely uses (a default VPC, a role named in the file) stays."
        );
    }
    if !confirm::ask(a.yes, &format!("\nDelete stack {}?", ctx.stack.name)).await? {
        println!("Nothing deleted.");
        return Ok(1);
    }
    if mode != Mode::Json {
        println!();
    }
    let writer = Arc::new(StateWriter::to(ctx.sink(), state));
    let opts = Options {
        parallelism: a.parallelism.into(),
        wait: false,
        timeout: std::time::Duration::from_secs(600),
        tags: ctx.stack.tags.clone(),
        events,
    };
    let report = exec::execute(&plan, aws, writer, &opts).await?;
    let n = report.done.len();
    context::finish(
        mode,
        &ctx.stack.name,
        n,
        started,
        &format!("\nStack {} is down: {n} resources deleted.", ctx.stack.name),
    );
    Ok(0)
}
