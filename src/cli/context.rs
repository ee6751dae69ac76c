//! What every AWS-facing command needs: the stack, its state file, and the clients.

use super::{Cli, Error};
use crate::resources::Aws;
use crate::resources::s3_object::S3Object;
use crate::stack::Stack;
use crate::state::remote::Remote;
use crate::state::{self, Sink, State};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Context {
    pub stack: Stack,
    /// Where the state is, for messages: a file, or `s3://bucket/key`.
    pub state_path: PathBuf,
    pub state: State,
    /// Whether a state was there at all (a missing one is recovered from AWS).
    pub state_exists: bool,
    /// The state's object when it is kept in S3, and the ETag it was read at.
    remote: Option<(Arc<dyn Remote>, Option<String>)>,
    /// The clients, when reading the state already needed them.
    clients: Option<Arc<Aws>>,
}

/// Where the state is: `--state` or PROVISION_STATE, else the file's `state:`, else
/// `.provision/<stack>.state.json` beside the stack file.
fn location(cli: &Cli, stack: &Stack) -> String {
    cli.state
        .clone()
        .or_else(|| stack.state.clone())
        .unwrap_or_else(|| {
            state::default_path(&cli.file, &stack.name)
                .to_string_lossy()
                .into_owned()
        })
}

/// Loads and checks the stack file and its state. A state in S3 is read through AWS.
pub async fn load(cli: &Cli) -> Result<Context, Error> {
    let stack = crate::stack::load_with(&cli.file, &cli.set)?;
    let at = location(cli, &stack);
    if at.starts_with("s3://") {
        let aws = aws(cli).await?;
        let object = S3Object::parse(&aws.c, &at).ok_or_else(|| {
            Error::Usage(format!(
                "`{at}` is not an S3 location\n  hint: write it as s3://BUCKET/KEY, for example s3://my-team-state/web/prod.json"
            ))
        })?;
        let object: Arc<dyn Remote> = Arc::new(object);
        let (state, etag) = state::load_remote(object.as_ref(), &stack.name).await?;
        return Ok(Context {
            stack,
            state_path: PathBuf::from(&at),
            state,
            state_exists: etag.is_some(),
            remote: Some((object, etag)),
            clients: Some(aws),
        });
    }
    let state_path = PathBuf::from(at);
    let state = state::load(&state_path, &stack.name)?;
    Ok(Context {
        stack,
        state_exists: state_path.exists(),
        state_path,
        state,
        remote: None,
        clients: None,
    })
}

impl Context {
    /// The AWS clients: the ones reading the state made, or new ones.
    pub async fn aws(&self, cli: &Cli) -> Result<Arc<Aws>, Error> {
        match &self.clients {
            Some(aws) => Ok(aws.clone()),
            None => aws(cli).await,
        }
    }

    /// Where this run writes the state.
    pub fn sink(&self) -> Sink {
        match &self.remote {
            Some((object, etag)) => Sink::Remote {
                object: object.clone(),
                etag: etag.clone(),
            },
            None => Sink::File(self.state_path.clone()),
        }
    }

    /// Writes a whole state (for `state recover`).
    pub async fn save(&self, s: &State) -> Result<(), Error> {
        let writer = crate::state::StateWriter::to(self.sink(), s.clone());
        writer.write_all().await?;
        Ok(())
    }
}

/// The state; when there is no state at all (a fresh CI runner), what the stack owns is
/// found in AWS by its tags instead, and said so.
pub async fn state_or_found(ctx: &Context, aws: &Arc<Aws>) -> Result<State, Error> {
    if ctx.state_exists {
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

/// The state's lock, held until `release`.
pub enum Held {
    Local(crate::state::lock::Lock),
    Remote(crate::state::lock::RemoteLock),
}

impl Held {
    /// Lets go of the lock: on success, on failure and after Ctrl-C alike.
    pub async fn release(self) {
        match self {
            Held::Local(l) => drop(l),
            Held::Remote(l) => l.release().await,
        }
    }
}

/// Takes the state's lock for `operation` (`plan`, `up`, `down`), or says who holds it.
pub async fn lock(ctx: &Context, operation: &str) -> Result<Held, Error> {
    Ok(match &ctx.remote {
        Some((object, _)) => {
            Held::Remote(crate::state::lock::acquire_remote(object.as_ref(), operation).await?)
        }
        None => Held::Local(crate::state::lock::acquire(&ctx.state_path, operation)?),
    })
}

/// Removes the lock with this id.
pub async fn force_unlock(ctx: &Context, id: &str) -> Result<crate::state::lock::Holder, Error> {
    Ok(match &ctx.remote {
        Some((object, _)) => crate::state::lock::force_unlock_remote(object.as_ref(), id).await?,
        None => crate::state::lock::force_unlock(&ctx.state_path, id)?,
    })
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
