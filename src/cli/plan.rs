use super::args::PlanArgs;
use super::{Cli, Error, context};

pub async fn run(cli: &Cli, a: &PlanArgs) -> Result<u8, Error> {
    let ctx = context::load(cli)?;
    let aws = context::aws(cli).await?;
    let plan = crate::plan::plan_up(&ctx.stack, &ctx.state, aws, a.parallelism.into()).await?;
    if a.json {
        println!("{}", crate::plan::render::json(&plan));
    } else {
        print!(
            "{}",
            crate::plan::render::human(&plan, &context::style(cli))
        );
    }
    Ok(if a.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
