use super::args::PlanArgs;
use super::render::{self, Mode};
use super::{Cli, Error, context};

pub async fn run(cli: &Cli, a: &PlanArgs) -> Result<u8, Error> {
    let mode = Mode::pick(a.json);
    let ctx = context::load(cli)?;
    let _lock = context::lock(&ctx, "plan")?;
    let aws = context::aws(cli).await?;
    let started = std::time::Instant::now();
    let state = context::state_or_found(&ctx, &aws).await?;
    let plan = crate::plan::plan_up(&ctx.stack, &state, aws, a.parallelism.into()).await?;
    context::show_plan(cli, mode, &plan, &render::emitter(mode));
    let changes = plan.steps.iter().filter(|s| s.action.is_change()).count();
    context::finish(mode, &ctx.stack.name, changes, started, "");
    Ok(if a.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
