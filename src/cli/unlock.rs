use super::{Cli, Error, context};

pub fn run(cli: &Cli, lock_id: &str) -> Result<u8, Error> {
    let ctx = context::load(cli)?;
    let holder = crate::state::lock::force_unlock(&ctx.state_path, lock_id)?;
    println!(
        "Removed the lock {} of {} (`{}`). If that run is still going, stop it: two runs at once can make twins.",
        holder.id, holder.who, holder.operation
    );
    Ok(0)
}
