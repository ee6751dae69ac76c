use super::args::{PlanArgs, PlanFormat};
use super::render::{self, Mode};
use super::{Cli, Error, context};

pub async fn run(cli: &Cli, a: &PlanArgs) -> Result<u8, Error> {
    let ctx = context::load(cli).await?;
    // Released however the run ends: success, failure or Ctrl-C.
    let lock = context::lock(&ctx, "plan").await?;
    let result = locked(cli, a, &ctx).await;
    lock.release().await;
    result
}

async fn locked(cli: &Cli, a: &PlanArgs, ctx: &context::Context) -> Result<u8, Error> {
    let mode = Mode::pick(a.json || a.format == PlanFormat::Json);
    let aws = ctx.aws(cli).await?;
    let started = std::time::Instant::now();
    let state = context::state_or_found(ctx, &aws).await?;
    let plan = crate::plan::plan_up(
        &ctx.stack,
        &state,
        aws,
        a.parallelism.into(),
        !ctx.state_exists,
    )
    .await?;
    if a.format == PlanFormat::Markdown {
        print!("{}", crate::plan::render::markdown(&plan));
        return Ok(if a.detailed_exitcode && plan.has_changes() {
            2
        } else {
            0
        });
    }
    context::show_plan(cli, mode, &plan, &render::emitter(mode));
    let changes = plan.steps.iter().filter(|s| s.action.is_change()).count();
    context::finish(mode, &ctx.stack.name, changes, started, "");
    Ok(if a.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
