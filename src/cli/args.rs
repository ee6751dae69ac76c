//! Flags and commands.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "provision",
    version,
    about = "Provision container stacks on AWS ECS from a short YAML stack file",
    long_about = "Provision container stacks on AWS ECS from a short YAML stack file.\n\n`provision up` plans what the stack needs (network, security groups, IAM roles, cluster, task definition, service), shows the plan and carries it out; `provision down` removes everything the stack created."
)]
pub struct Cli {
    /// The stack file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "stack.yaml"
    )]
    pub file: PathBuf,
    /// AWS region (default: from AWS_REGION or the profile; us-east-1 with --local).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config (default: AWS_PROFILE or `default`).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send AWS calls to this endpoint (AWS_ENDPOINT_URL works too).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Use the local emulator on 127.0.0.1:$PROVISION_LOCAL_PORT (4566), starting it if nothing answers.
    #[arg(long, global = true)]
    pub local: bool,
    /// Where the state is: a file, or s3://BUCKET/KEY (default: the stack file's `state:`, else
    /// .provision/<stack>.state.json beside the stack file).
    #[arg(long, global = true, env = "PROVISION_STATE")]
    pub state: Option<String>,
    /// No colours in the plan.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Set a value of the stack file by its dotted path, as if written there (repeatable):
    /// --set services.web.containers.web.image=httpd:2.4.62
    #[arg(long = "set", global = true, value_name = "PATH=VALUE")]
    pub set: Vec<crate::stack::overrides::Set>,
    /// Log every AWS call (service, operation, duration, attempts) to stderr; -vv for the
    /// SDK's own detail. RUST_LOG overrides it.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the stack file; makes no AWS call.
    Validate,
    /// Show what `up` would do; changes nothing.
    Plan(PlanArgs),
    /// Create or update the stack to match the file.
    Up(UpArgs),
    /// Delete everything the stack created.
    Down(DownArgs),
    /// Show the ids, names and ARNs of what the stack created.
    Outputs(OutputsArgs),
    /// Look at the state, or rebuild it from what AWS holds.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove the state's lock left by a run that is gone for good (the id is in the
    /// message that named the holder).
    ForceUnlock {
        /// The lock's id.
        lock_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Print what the state records: each resource's id, kind and AWS id.
    Show {
        /// The whole state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the state from what AWS holds: everything tagged with the stack, found by
    /// one list per kind. For a lost state file; refuses to replace one that records
    /// resources.
    Recover,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit with 2 when the plan has changes (0: none, 1: error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// One JSON object per line (the plan, then a summary) instead of text.
    #[arg(long)]
    pub json: bool,
    /// How to print the plan: text, json (as --json) or markdown (for a CI job summary or a
    /// pull request comment).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// How many AWS reads run at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How many steps run at once (one waiting for a rate-limit token, or between two
    /// polls, does not count).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
    /// How long to wait for services to become stable: 90s, 10m, 1h.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Do not wait for services to become stable.
    #[arg(long)]
    pub no_wait: bool,
    /// One JSON object per line (the plan, each step's events, a summary) instead of text.
    /// Needs --yes.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Delete without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// One JSON object per line (the plan, each step's events, a summary) instead of text.
    /// Needs --yes.
    #[arg(long)]
    pub json: bool,
    /// How many steps run at once (one waiting for a rate-limit token, or between two
    /// polls, does not count).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
}

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// One JSON object per line: the outputs, then a summary.
    #[arg(long)]
    pub json: bool,
    /// Only what the state recorded; no AWS call (no task addresses).
    #[arg(long)]
    pub offline: bool,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write it like 90s, 10m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            return Err(format!(
                "unknown unit `{unit}`; use s, m or h (90s, 10m, 1h)"
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

impl Cli {
    /// Whether the command asked for JSON lines.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Validate => false,
            Command::Plan(a) => a.json || a.format == PlanFormat::Json,
            Command::Up(a) => a.json,
            Command::Down(a) => a.json,
            Command::Outputs(a) => a.json,
            Command::ForceUnlock { .. } => false,
            Command::State(StateCommand::Show { .. } | StateCommand::Recover) => false,
        }
    }
}
