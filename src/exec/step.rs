//! One step of a plan, against the provider, with its state write.

use super::{Known, Options};
use crate::desired::Resource;
use crate::events::Event;
use crate::plan::{Action, Step};
use crate::provider::{Applied, CloudError, Provider, Recorder, Target};
use crate::state::{Change, Entry, StateError, StateWriter};
use std::sync::Arc;
use std::time::Instant;

pub enum StepError {
    Cloud(CloudError),
    State(StateError),
}

impl From<CloudError> for StepError {
    fn from(e: CloudError) -> Self {
        StepError::Cloud(e)
    }
}
impl From<StateError> for StepError {
    fn from(e: StateError) -> Self {
        StepError::State(e)
    }
}

/// What every step of a run shares: the state, and the outputs known so far.
pub struct Shared {
    pub writer: Arc<StateWriter>,
    pub known: Known,
    /// How many resources of each kind the run deletes (see `Target::deleting`).
    pub deleting: Arc<std::collections::HashMap<crate::desired::Kind, usize>>,
}

pub async fn run<P: Provider>(
    stack: &str,
    step: &Step,
    desired: Option<&Resource>,
    provider: Arc<P>,
    shared: Shared,
    early: crate::graph::Early,
    opts: &Options,
) -> Result<(), StepError> {
    let Shared {
        writer,
        known,
        deleting,
    } = shared;
    let started = Instant::now();
    let target = Target {
        stack: stack.to_string(),
        id: step.id.clone(),
        kind: step.kind,
        tags: opts.tags.clone(),
        progress: opts.events.progress_for(&step.id),
        superseded: step.id.ends_with(super::OLD),
        absent: step.absent,
        deleting: deleting.get(&step.kind).copied().unwrap_or(0),
        record: Recorder::none(),
        // A deletion may say it let go early; the deletion half of a replacement may not,
        // as what waits on it needs the new resource, made after.
        early: if step.action == Action::Delete {
            early.clone()
        } else {
            crate::graph::Early::none()
        },
    };
    let entry = writer.entry(&step.id);
    let verb = match step.action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "deleting",
        Action::Read | Action::NoOp => return Ok(()),
    };
    opts.events.emit(Event::Started {
        id: step.id.clone(),
        kind: step.kind.label().to_string(),
        action: step.action.name().to_string(),
    });

    let create_first = step.action == Action::Replace && step.kind.creates_first();
    if (step.action == Action::Delete || (step.action == Action::Replace && !create_first))
        && let Some(e) = &entry
    {
        provider.delete(&target, e).await?;
        writer.remove(&step.id).await?;
        if step.action == Action::Delete {
            opts.events.emit(Event::Done {
                id: step.id.clone(),
                action: step.action.name().to_string(),
                physical_id: None,
                seconds: started.elapsed().as_secs_f64(),
            });
            return Ok(());
        }
    }

    let Some(desired) = desired else {
        return Ok(());
    };
    let props = {
        let k = known.lock().unwrap_or_else(|e| e.into_inner());
        desired.resolve_all(&|r| k.get(&r.resource)?.get(&r.attr).cloned())
    };
    let Some(props) = props else {
        return Err(StepError::Cloud(CloudError {
            resource: step.id.clone(),
            operation: verb.into(),
            code: None,
            message: "a value it refers to is not known; an earlier step did not record it".into(),
            hint: Some("run the command again; if it persists, this is a bug in provision".into()),
        }));
    };
    // A creation records its id as soon as AWS returns it, before any follow-up call.
    // (Not the new one of a create-first replacement: the old one holds that place.)
    let target = if step.action == Action::Update || create_first {
        target
    } else {
        Target {
            record: recorder(
                &step.id,
                step.kind,
                &props,
                desired,
                writer.clone(),
                known.clone(),
                early,
            ),
            ..target
        }
    };
    let applied: Applied = match (step.action, &entry) {
        (Action::Update, Some(e)) => provider.update(&target, e, &props).await?,
        // The new one lives beside the old one for a while: give it a name of its own,
        // the same on a re-run so a crash here adopts it instead of making a twin.
        _ if create_first => {
            let fresh = step.kind.fresh_props(&props, &suffix(&props));
            provider.create(&target, &fresh).await?
        }
        _ => provider.create(&target, &props).await?,
    };
    let mut revisions = entry.map(|e| e.revisions).unwrap_or_default();
    if step.kind.keeps_revisions() && !revisions.contains(&applied.physical_id) {
        revisions.push(applied.physical_id.clone());
    }
    let new_entry = Entry {
        kind: step.kind,
        physical_id: applied.physical_id.clone(),
        props,
        outputs: applied.outputs.clone(),
        deps: desired.deps().into_iter().collect(),
        revisions,
        incomplete: false,
    };
    // In the same write: the successor, and the old one kept for its own deletion.
    let mut changes = Vec::new();
    if create_first && let Some(old) = writer.entry(&step.id) {
        changes.push(Change::Put {
            id: format!("{}{}", step.id, super::OLD),
            entry: Box::new(old),
        });
    }
    changes.push(Change::Put {
        id: step.id.clone(),
        entry: Box::new(new_entry),
    });
    writer.record(changes).await?;
    known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(step.id.clone(), applied.outputs.clone());
    if opts.wait {
        provider.wait_ready(&target, &applied, opts.timeout).await?;
    }
    opts.events.emit(Event::Done {
        id: step.id.clone(),
        action: step.action.name().to_string(),
        physical_id: Some(applied.physical_id.clone()),
        seconds: started.elapsed().as_secs_f64(),
    });
    Ok(())
}

/// Four hex digits from the properties (FNV-1a): stable across runs and versions.
fn suffix(props: &serde_json::Value) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in props.to_string().bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{:04x}", h & 0xffff)
}

/// Writes `id` as made but not finished, with what is known of it so far; then its
/// dependents on early edges may start, with those outputs.
fn recorder(
    id: &str,
    kind: crate::desired::Kind,
    props: &serde_json::Value,
    desired: &Resource,
    writer: Arc<StateWriter>,
    known: Known,
    early: crate::graph::Early,
) -> Recorder {
    let (id, props) = (id.to_string(), props.clone());
    let deps: Vec<String> = desired.deps().into_iter().collect();
    Recorder::new(move |physical_id, outputs| {
        let (id, props, deps, writer) = (id.clone(), props.clone(), deps.clone(), writer.clone());
        let (known, early) = (known.clone(), early.clone());
        Box::pin(async move {
            let entry = Entry {
                kind,
                physical_id,
                props,
                outputs: outputs.clone(),
                deps,
                revisions: Vec::new(),
                incomplete: true,
            };
            let put = writer.put(&id, entry).await;
            if put.is_ok() {
                known
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.clone(), outputs);
                early.signal();
            }
            put.map_err(|e| CloudError {
                resource: id.clone(),
                operation: "recording it".into(),
                code: None,
                message: e.to_string(),
                hint: Some(
                    "check that the state can be written, then run the command again".into(),
                ),
            })
        })
    })
}
