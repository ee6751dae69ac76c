use super::{Cli, Error};

pub fn run(cli: &Cli) -> Result<u8, Error> {
    let stack = crate::stack::load_with(&cli.file, &cli.set)?;
    let owned = stack
        .resources
        .iter()
        .filter(|r| !r.kind.is_lookup())
        .count();
    println!(
        "{}: stack {} is valid ({owned} resources).",
        cli.file.display(),
        stack.name
    );
    Ok(0)
}
