//! The executor: runs a plan's steps concurrently under a limit, each as soon as the
//! steps it depends on are done, writing state after every step. After a failure its
//! dependents are skipped, so only the root cause is reported.

mod schedule;
mod step;

pub use schedule::waits_for;

use crate::plan::Plan;
use crate::provider::{CloudError, Provider};
use crate::state::{StateError, StateWriter};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    pub parallelism: usize,
    pub wait: bool,
    pub timeout: Duration,
    pub tags: Vec<(String, String)>,
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
    let steps: BTreeMap<String, _> = plan
        .steps
        .iter()
        .filter(|s| s.action.is_change())
        .map(|s| (s.id.clone(), s.clone()))
        .collect();
    let mut waits: BTreeMap<String, BTreeSet<String>> = steps
        .keys()
        .map(|id| (id.clone(), waits_for(plan, &state, id, &steps)))
        .collect();

    let limit = opts.parallelism.max(1);
    let mut running = tokio::task::JoinSet::new();
    let mut in_flight = 0usize;
    let (mut done, mut failed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    loop {
        // Skip what can no longer run: it waits on something that failed or was skipped.
        loop {
            let dead: Vec<String> = waits
                .iter()
                .filter(|(_, w)| w.iter().any(|d| failed_ids(&failed, &skipped).contains(d)))
                .map(|(id, _)| id.clone())
                .collect();
            if dead.is_empty() {
                break;
            }
            for id in dead {
                waits.remove(&id);
                skipped.push(id);
            }
        }
        if !interrupted {
            let ready: Vec<String> = waits
                .iter()
                .filter(|(_, w)| w.iter().all(|d| finished.contains(d)))
                .map(|(id, _)| id.clone())
                .take(limit.saturating_sub(in_flight))
                .collect();
            for id in ready {
                waits.remove(&id);
                let step = steps[&id].clone();
                let desired = plan.desired.iter().find(|r| r.id == id).cloned();
                let (p, w, k, o) = (
                    provider.clone(),
                    writer.clone(),
                    known.clone(),
                    opts.clone(),
                );
                let stack = plan.stack.clone();
                in_flight += 1;
                running.spawn(async move {
                    let r = step::run(&stack, &step, desired.as_ref(), p, w, k, &o).await;
                    (step.id.clone(), r)
                });
            }
        }
        if in_flight == 0 {
            break;
        }
        tokio::select! {
            Some(res) = running.join_next() => {
                in_flight -= 1;
                match res {
                    Ok((id, Ok(()))) => { finished.insert(id.clone()); done.push(id); }
                    Ok((id, Err(step::StepError::Cloud(e)))) => { failed.push((id, e)); }
                    Ok((_, Err(step::StepError::State(e)))) => return Err(ExecError::State(e)),
                    Err(e) => failed.push(("?".into(), CloudError {
                        resource: "executor".into(), operation: "a step".into(), code: None,
                        message: e.to_string(), hint: None,
                    })),
                }
            }
            _ = &mut ctrl_c => {
                if interrupted {
                    // Abandoned calls may have created something; the next `up` finds it by its tags.
                    running.abort_all();
                    return Err(ExecError::Interrupted { done: done.len(), left: waits.len() + in_flight });
                }
                eprintln!("\nInterrupted: waiting for the {in_flight} steps in flight to finish and saving state (Ctrl-C again to abandon them)…");
                interrupted = true;
                ctrl_c.set(tokio::signal::ctrl_c());
            }
        }
    }
    if interrupted && failed.is_empty() {
        return Err(ExecError::Interrupted {
            done: done.len(),
            left: waits.len(),
        });
    }
    if !failed.is_empty() {
        return Err(ExecError::Failed {
            failed: failed.into_iter().map(|(_, e)| e).collect(),
            skipped,
        });
    }
    Ok(Report { done })
}

fn failed_ids(failed: &[(String, CloudError)], skipped: &[String]) -> BTreeSet<String> {
    failed
        .iter()
        .map(|(id, _)| id.clone())
        .chain(skipped.iter().cloned())
        .collect()
}
