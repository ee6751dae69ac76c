use super::{Cli, Error, context};

pub async fn run(cli: &Cli, lock_id: &str) -> Result<u8, Error> {
    let ctx = context::load(cli).await?;
    let holder = context::force_unlock(&ctx, lock_id).await?;
    println!(
        "Removed the lock {} of {} (`{}`). If that run is still going, stop it: two runs at once can make twins.",
        holder.id, holder.who, holder.operation
    );
    Ok(0)
}
