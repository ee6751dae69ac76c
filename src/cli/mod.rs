//! Command-line interface: each command is a thin wrapper over the engine.

mod args;
mod confirm;
mod context;
mod down;
mod local;
mod outputs;
mod plan;
mod up;
mod validate;

pub use args::{Cli, Command};

use clap::Parser;
use std::process::ExitCode;

/// What went wrong, in the words of the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("{0}")]
    Cloud(#[from] crate::provider::CloudError),
    #[error("{0}")]
    Exec(#[from] crate::exec::ExecError),
    #[error("{0}")]
    Usage(String),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Error> {
    match &cli.command {
        Command::Validate => validate::run(&cli),
        Command::Plan(a) => plan::run(&cli, a).await,
        Command::Up(a) => up::run(&cli, a).await,
        Command::Down(a) => down::run(&cli, a).await,
        Command::Outputs(a) => outputs::run(&cli, a).await,
    }
}
