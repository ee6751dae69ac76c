//! `provision state show` and `provision state recover`.

use super::{Cli, Error, context};

pub async fn show(cli: &Cli, json: bool) -> Result<u8, Error> {
    let ctx = context::load(cli).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ctx.state).unwrap_or_default()
        );
        return Ok(0);
    }
    if ctx.state.resources.is_empty() {
        println!(
            "The state of stack {} records no resources ({}).",
            ctx.stack.name,
            ctx.state_path.display()
        );
        return Ok(0);
    }
    let width = ctx
        .state
        .resources
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0);
    for (id, e) in &ctx.state.resources {
        println!("{id:<width$}  {:<26}  {}", e.kind.label(), e.physical_id);
    }
    println!(
        "\n{} resources in {}.",
        ctx.state.resources.len(),
        ctx.state_path.display()
    );
    Ok(0)
}

pub async fn recover(cli: &Cli) -> Result<u8, Error> {
    let ctx = context::load(cli).await?;
    let lock = context::lock(&ctx, "state recover").await?;
    let result = recover_locked(cli, &ctx).await;
    lock.release().await;
    result
}

async fn recover_locked(cli: &Cli, ctx: &context::Context) -> Result<u8, Error> {
    if !ctx.state.resources.is_empty() {
        return Err(Error::Usage(format!(
            "the state {} already records {} resources; recovering would replace it\n  hint: move it away first if it is wrong",
            ctx.state_path.display(),
            ctx.state.resources.len()
        )));
    }
    let aws = ctx.aws(cli).await?;
    let state = crate::plan::recover::recover(&ctx.stack, aws).await?;
    ctx.save(&state).await?;
    println!(
        "Recovered {} resources of stack {} into {}.",
        state.resources.len(),
        ctx.stack.name,
        ctx.state_path.display()
    );
    Ok(0)
}
