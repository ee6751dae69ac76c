//! Which steps a step must wait for: creations follow their references, deletions go
//! after everything that still refers to what they delete (from the dependencies the
//! state recorded, the one source of deletion order).

use crate::graph::Graph;
use crate::plan::{Action, Plan, Step, state_graph};
use crate::state::State;
use std::collections::{BTreeMap, BTreeSet};

/// The graph the executor walks: one node per change, an edge per wait.
pub fn graph(plan: &Plan, state: &State, steps: &BTreeMap<String, Step>) -> Graph {
    let recorded = state_graph(state);
    let mut g = Graph::new();
    for id in steps.keys() {
        g.add_node(id);
        for w in waits(plan, &recorded, id, steps) {
            if loose(id, &w, steps) {
                g.add_loose_edge(id, &w);
            } else if early(id, &w, steps) {
                g.add_early_edge(id, &w);
            } else {
                g.add_edge(id, &w);
            }
        }
    }
    g
}

/// Whether `id` may start once `w` signals (see `Owned::EARLY`): a creation on what it
/// needs only to exist, a deletion on what lets go of it before its own deletion ends.
fn early(id: &str, w: &str, steps: &BTreeMap<String, Step>) -> bool {
    let (step, other) = (&steps[id], &steps[w]);
    match (step.action, other.action) {
        (Action::Delete, Action::Delete) => other.kind.lets_go_early(step.kind),
        (Action::Create, _) => step.kind.early_on(other.kind),
        _ => false,
    }
}

/// Whether `id`'s creation may start without waiting for `w` at all (see
/// `Owned::DONE_AFTER`).
fn loose(id: &str, w: &str, steps: &BTreeMap<String, Step>) -> bool {
    let (step, other) = (&steps[id], &steps[w]);
    step.action == Action::Create && step.kind.done_after(other.kind)
}

fn waits(
    plan: &Plan,
    recorded: &Graph,
    id: &str,
    steps: &BTreeMap<String, Step>,
) -> BTreeSet<String> {
    let step = &steps[id];
    let mut w = BTreeSet::new();
    match step.action {
        Action::Delete => {
            // Whatever refers to this resource now must let go of it first.
            for other in recorded.dependents_of(id) {
                if steps.contains_key(other) {
                    w.insert(other.clone());
                }
            }
            // The old one of a replacement goes once its successor exists and whatever
            // refers to it has been moved over.
            if let Some(base) = id.strip_suffix(super::OLD) {
                if steps.contains_key(base) {
                    w.insert(base.to_string());
                }
                for other in plan.graph.dependents_of(base) {
                    if steps.get(other).is_some_and(|s| s.action != Action::Delete) {
                        w.insert(other.clone());
                    }
                }
            }
        }
        _ => {
            for d in plan.graph.deps_of(id) {
                if steps.contains_key(d) && steps[d].action != Action::Delete {
                    w.insert(d.clone());
                }
            }
        }
    }
    w.remove(id);
    w
}
