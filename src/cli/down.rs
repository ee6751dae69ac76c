use super::args::DownArgs;
use super::{Cli, Error, confirm, context};
use crate::exec::{self, Options};
use crate::state::StateWriter;
use std::sync::Arc;

pub async fn run(cli: &Cli, a: &DownArgs) -> Result<u8, Error> {
    let ctx = context::load(cli)?;
    let plan = crate::plan::plan_down(&ctx.stack.name, &ctx.state);
    if !plan.has_changes() {
        println!(
            "Nothing to delete: stack {} owns no resources (state: {}).",
            ctx.stack.name,
            ctx.state_path.display()
        );
        return Ok(0);
    }
    print!(
        "{}",
        crate::plan::render::human(&plan, &context::style(cli))
    );
    println!(
        "Only what the stack created is deleted; what it merely uses (a default VPC, a role named in the file) stays."
    );
    if !confirm::ask(a.yes, &format!("\nDelete stack {}?", ctx.stack.name))? {
        println!("Nothing deleted.");
        return Ok(1);
    }
    println!();
    let aws = context::aws(cli).await?;
    let writer = Arc::new(StateWriter::new(ctx.state_path.clone(), ctx.state));
    let opts = Options {
        parallelism: a.parallelism.into(),
        wait: false,
        timeout: std::time::Duration::from_secs(600),
        tags: ctx.stack.tags.clone(),
    };
    let report = exec::execute(&plan, aws, writer, &opts).await?;
    println!(
        "\nStack {} is down: {} resources deleted.",
        ctx.stack.name,
        report.done.len()
    );
    Ok(0)
}
