//! What every AWS-facing command needs: the stack, its state file, and the clients.

use super::{Cli, Error};
use crate::resources::Aws;
use crate::stack::Stack;
use crate::state::{self, State};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Context {
    pub stack: Stack,
    pub state_path: PathBuf,
    pub state: State,
}

/// Loads and checks the stack file and its state; no AWS call.
pub fn load(cli: &Cli) -> Result<Context, Error> {
    let stack = crate::stack::load_with(&cli.file, &cli.set)?;
    let state_path = cli
        .state
        .clone()
        .unwrap_or_else(|| state::default_path(&cli.file, &stack.name));
    let state = state::load(&state_path, &stack.name)?;
    Ok(Context {
        stack,
        state_path,
        state,
    })
}

/// The state; when there is no state file at all (a fresh CI runner), what the stack owns
/// is found in AWS by its tags instead, and said so.
pub async fn state_or_found(
    ctx: &Context,
    aws: &std::sync::Arc<crate::resources::Aws>,
) -> Result<State, Error> {
    if ctx.state_path.exists() {
        return Ok(ctx.state.clone());
    }
    let found = crate::plan::recover::recover(&ctx.stack, aws.clone()).await?;
    if !found.resources.is_empty() {
        eprintln!(
            "No state at {}: found {} resources of stack {} in AWS by their tags, and using them.",
            ctx.state_path.display(),
            found.resources.len(),
            ctx.stack.name
        );
    }
    Ok(found)
}

/// Takes the state's lock for `operation` (`plan`, `up`, `down`), held until dropped.
pub fn lock(ctx: &Context, operation: &str) -> Result<crate::state::lock::Lock, Error> {
    Ok(crate::state::lock::acquire(&ctx.state_path, operation)?)
}

pub async fn aws(cli: &Cli) -> Result<Arc<Aws>, Error> {
    let mut settings = crate::aws::Settings {
        region: cli.region.clone(),
        profile: cli.profile.clone(),
        endpoint_url: cli.endpoint_url.clone(),
        local: cli.local,
    };
    if cli.local && settings.endpoint_url.is_none() {
        settings.endpoint_url = Some(super::local::ensure_running().await?);
    }
    let conf = crate::aws::load(&settings).await;
    if conf.region().is_none() {
        return Err(Error::Usage(
            "no AWS region is set\n  hint: pass --region, set AWS_REGION, or set a region in your AWS profile".into(),
        ));
    }
    Ok(Arc::new(Aws::new(crate::aws::Clients::new(&conf))))
}

pub fn style(cli: &Cli) -> crate::plan::render::Style {
    let color =
        !cli.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    crate::plan::render::Style { color }
}

/// The plan, drawn for `mode`: text for people, or a `plan` line and a `plan_ready` event.
pub fn show_plan(
    cli: &Cli,
    mode: super::render::Mode,
    plan: &crate::plan::Plan,
    events: &crate::events::Emitter,
) {
    use crate::plan::Action;
    if mode == super::render::Mode::Json {
        super::render::json_line(&serde_json::json!({ "event": "plan", "plan": plan }));
    } else {
        print!("{}", crate::plan::render::human(plan, &style(cli)));
    }
    events.emit(crate::events::Event::PlanReady {
        stack: plan.stack.clone(),
        create: plan.count(Action::Create),
        update: plan.count(Action::Update),
        replace: plan.count(Action::Replace),
        delete: plan.count(Action::Delete),
        unchanged: plan.count(Action::NoOp),
    });
}

/// The end of a command that succeeded: the summary line in JSON, else `text` if any.
pub fn finish(
    mode: super::render::Mode,
    stack: &str,
    changes: usize,
    started: std::time::Instant,
    text: &str,
) {
    if mode == super::render::Mode::Json {
        super::render::json_line(&crate::events::Event::Summary {
            ok: true,
            stack: stack.to_string(),
            changes,
            seconds: started.elapsed().as_secs_f64(),
            error: None,
        });
    } else if !text.is_empty() {
        println!("{text}");
    }
}
