//! The executor: runs a plan's steps concurrently under a limit through the graph's one
//! walk, each as soon as the steps it depends on are done, writing state after every
//! step. After a failure its dependents are skipped, so only the root cause is reported.

mod schedule;
mod step;

/// How the old resource of a create-first replacement is named in the state until it is
/// deleted: `security_group.web (old)`.
pub const OLD: &str = " (old)";

use crate::events::{Emitter, Event};
use crate::graph::{GraphError, Stop};
use crate::plan::{Action, Plan, Step};
use crate::provider::{CloudError, Provider};
use crate::state::{StateError, StateWriter};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    pub parallelism: usize,
    pub wait: bool,
    pub timeout: Duration,
    pub tags: Vec<(String, String)>,
    /// Where steps report what they do.
    pub events: Emitter,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{}", render_failures(.failed, .skipped))]
    Failed {
        failed: Vec<CloudError>,
        skipped: Vec<String>,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}\n  hint: this is a bug in provision; please report it with the stack file")]
    Order(#[from] GraphError),
    #[error(
        "interrupted: {done} steps finished and were saved; {left} not started\n  hint: run the same command again to carry on"
    )]
    Interrupted { done: usize, left: usize },
}

fn render_failures(failed: &[CloudError], skipped: &[String]) -> String {
    // The first failure is prefixed `error: ` by whoever prints this; the others here.
    let mut s = String::new();
    for (i, f) in failed.iter().enumerate() {
        if i > 0 {
            s.push_str("error: ");
        }
        s.push_str(&format!("{f}\n"));
    }
    if !skipped.is_empty() {
        s.push_str(&format!(
            "not attempted because of the error above: {}\n",
            skipped.join(", ")
        ));
    }
    s.push_str("  state is saved: fix the cause and run the same command again to carry on");
    s
}

pub struct Report {
    pub done: Vec<String>,
}

/// Outputs of every resource known so far, by logical id, shared by the running steps.
pub(crate) type Known = Arc<Mutex<HashMap<String, serde_json::Map<String, serde_json::Value>>>>;

pub async fn execute<P: Provider>(
    plan: &Plan,
    provider: Arc<P>,
    writer: Arc<StateWriter>,
    opts: &Options,
) -> Result<Report, ExecError> {
    let state = writer.snapshot();
    let known: Known = Arc::new(Mutex::new(plan.lookups.clone()));
    {
        let mut k = known.lock().unwrap_or_else(|e| e.into_inner());
        for (id, e) in &state.resources {
            k.insert(id.clone(), e.outputs.clone());
        }
    }
    let mut steps: BTreeMap<String, _> = plan
        .steps
        .iter()
        .filter(|s| s.action.is_change())
        .map(|s| (s.id.clone(), s.clone()))
        .collect();
    // A create-first replacement leaves the old resource to a deletion of its own, after
    // everything that used it has moved to the new one.
    let deposed: Vec<Step> = steps
        .values()
        .filter(|s| s.action == Action::Replace && s.kind.creates_first())
        .map(|s| Step {
            id: format!("{}{OLD}", s.id),
            kind: s.kind,
            action: Action::Delete,
            changes: Vec::new(),
            reason: None,
            absent: false,
        })
        .collect();
    steps.extend(deposed.into_iter().map(|s| (s.id.clone(), s)));
    let order = schedule::graph(plan, &state, &steps);

    // Ctrl-C once: start nothing new and let the steps in flight finish; twice: abandon them.
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(Stop::Run);
    let listener = {
        let (events, in_flight) = (opts.events.clone(), in_flight.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            events.emit(Event::Interrupted {
                in_flight: in_flight.load(Ordering::SeqCst),
            });
            let _ = stop_tx.send(Stop::Finish);
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = stop_tx.send(Stop::Abandon);
            }
            // Keep the sender alive until the walk is over.
            std::future::pending::<()>().await;
        })
    };

    let mut deleting = HashMap::new();
    for s in steps.values().filter(|s| s.action == Action::Delete) {
        *deleting.entry(s.kind).or_insert(0) += 1;
    }
    let deleting = Arc::new(deleting);
    let by_id: HashMap<&str, &crate::desired::Resource> =
        plan.desired.iter().map(|r| (r.id.as_str(), r)).collect();
    // The state file is made ready while the first requests are out (see `prepare`).
    let walk = order.walk(opts.parallelism, stop_rx.clone(), |id, early| {
        let step = steps[&id].clone();
        let desired = by_id.get(id.as_str()).map(|r| (*r).clone());
        let (p, o) = (provider.clone(), opts.clone());
        let shared = step::Shared {
            writer: writer.clone(),
            known: known.clone(),
            deleting: deleting.clone(),
        };
        let (stack, in_flight) = (plan.stack.clone(), in_flight.clone());
        async move {
            in_flight.fetch_add(1, Ordering::SeqCst);
            let r = step::run(&stack, &step, desired.as_ref(), p, shared, early, &o).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            r
        }
    });
    let ((), walked) = tokio::join!(writer.prepare(), walk);
    listener.abort();
    // The file whole again, its journal folded in: done whether steps failed or not.
    writer.finish().await.map_err(ExecError::State)?;
    let walked = walked?;
    let interrupted = *stop_rx.borrow() != Stop::Run;

    let mut failed = Vec::new();
    for (id, e) in walked.failed {
        match e {
            step::StepError::State(e) => return Err(ExecError::State(e)),
            step::StepError::Cloud(e) => {
                opts.events.emit(Event::Failed {
                    id,
                    error: e.to_string(),
                    code: e.code.clone(),
                });
                failed.push(e);
            }
        }
    }
    for (id, root) in &walked.skipped {
        opts.events.emit(Event::Skipped {
            id: id.clone(),
            because: root.clone(),
        });
    }
    if walked.abandoned || (interrupted && failed.is_empty()) {
        // Abandoned calls may have created something; the next `up` finds it by its tags.
        return Err(ExecError::Interrupted {
            done: walked.done.len(),
            left: walked.not_started.len() + walked.skipped.len(),
        });
    }
    if !failed.is_empty() {
        return Err(ExecError::Failed {
            failed,
            skipped: walked.skipped.into_iter().map(|(id, _)| id).collect(),
        });
    }
    Ok(Report { done: walked.done })
}
