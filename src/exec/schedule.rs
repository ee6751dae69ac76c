//! Which steps a step must wait for: creations follow their references, deletions go
//! after everything that still refers to what they delete.

use crate::plan::{Action, Plan, Step};
use crate::state::State;
use std::collections::{BTreeMap, BTreeSet};

pub fn waits_for(
    plan: &Plan,
    state: &State,
    id: &str,
    steps: &BTreeMap<String, Step>,
) -> BTreeSet<String> {
    let step = &steps[id];
    let mut w = BTreeSet::new();
    match step.action {
        Action::Delete => {
            // Whatever refers to this resource now must let go of it first.
            for (other, e) in &state.resources {
                if e.deps.iter().any(|d| d == id) && steps.contains_key(other) {
                    w.insert(other.clone());
                }
            }
        }
        _ => {
            for d in plan.graph.deps_of(id) {
                if steps.contains_key(d) && steps[d].action != Action::Delete {
                    w.insert(d.clone());
                }
            }
            // A resource that replaces one being deleted elsewhere would collide with it.
        }
    }
    w.remove(id);
    w
}
