use super::args::UpArgs;
use super::{Cli, Error, confirm, context};
use crate::exec::{self, Options};
use crate::state::StateWriter;
use std::sync::Arc;

pub async fn run(cli: &Cli, a: &UpArgs) -> Result<u8, Error> {
    let ctx = context::load(cli)?;
    let aws = context::aws(cli).await?;
    let plan =
        crate::plan::plan_up(&ctx.stack, &ctx.state, aws.clone(), a.parallelism.into()).await?;
    print!(
        "{}",
        crate::plan::render::human(&plan, &context::style(cli))
    );
    if !plan.has_changes() {
        return Ok(0);
    }
    if !confirm::ask(
        a.yes,
        &format!("\nApply these changes to stack {}?", ctx.stack.name),
    )? {
        println!("Nothing changed.");
        return Ok(1);
    }
    println!();
    let writer = Arc::new(StateWriter::new(ctx.state_path.clone(), ctx.state));
    let opts = Options {
        parallelism: a.parallelism.into(),
        wait: !a.no_wait,
        timeout: a.timeout,
        tags: ctx.stack.tags.clone(),
    };
    let started = std::time::Instant::now();
    let report = exec::execute(&plan, aws, writer, &opts).await?;
    println!(
        "\nStack {} is up: {} changes in {:.1}s. State: {}\nSee what was created with `provision outputs`.",
        ctx.stack.name,
        report.done.len(),
        started.elapsed().as_secs_f64(),
        ctx.state_path.display()
    );
    Ok(0)
}
