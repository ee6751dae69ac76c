//! Desired resources + state + what exists -> an ordered plan.

use super::action::Action;
use super::diff::{self, Change as FieldChange};
use crate::desired::{Kind, Ref, Resource};
use crate::graph::{Graph, GraphError};
use crate::provider::{CloudError, Provider};
use crate::resources::kind::Change;
use crate::stack::Stack;
use crate::state::State;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: String,
    pub kind: Kind,
    pub action: Action,
    pub changes: Vec<FieldChange>,
    /// Why, when it is not obvious (the resource was deleted outside provision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A creation that discovery at plan time showed nothing exists for: the create does
    /// not look for one an earlier run made (a round trip saved on every create).
    #[serde(skip)]
    pub absent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub stack: String,
    /// In execution order: creations by dependency, then deletions in reverse.
    pub steps: Vec<Step>,
    #[serde(skip)]
    pub lookups: HashMap<String, Map<String, Json>>,
    #[serde(skip)]
    pub desired: Vec<Resource>,
    #[serde(skip)]
    pub graph: Graph,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.steps.iter().filter(|s| s.action == action).count()
    }
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.action.is_change())
    }
}

/// Plan for `up`: read the lookups and what the state says exists, concurrently, then diff.
/// Kinds with resources the state lacks are discovered by their tags at the same time,
/// once per kind, so that creates need not look first; `discovered` says the state itself
/// came from such a discovery of every kind (a run without state), so what it lacks, AWS
/// lacks too.
pub async fn plan_up<P: Provider>(
    stack: &Stack,
    state: &State,
    provider: Arc<P>,
    parallelism: usize,
    discovered: bool,
) -> Result<Plan, CloudError> {
    let limit = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let missing: Vec<&Resource> = stack
        .resources
        .iter()
        .filter(|r| !r.kind.is_lookup() && !state.resources.contains_key(&r.id))
        .collect();
    let mut discovery = tokio::task::JoinSet::new();
    if !discovered {
        let kinds: std::collections::BTreeSet<Kind> = missing.iter().map(|r| r.kind).collect();
        for kind in kinds {
            let (p, limit, name) = (provider.clone(), limit.clone(), stack.name.clone());
            discovery.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let found = p.discover(kind, &name).await?;
                Ok::<_, CloudError>(found.into_iter().map(|f| f.id).collect::<Vec<_>>())
            });
        }
    }
    // Kinds that list many at once are read in one batch each (a few calls, not one each).
    let mut batches: HashMap<crate::desired::Kind, Vec<(String, crate::state::Entry)>> =
        HashMap::new();
    for r in stack.resources.iter().filter(|r| r.kind.batches()) {
        if let Some(entry) = state.resources.get(&r.id) {
            batches
                .entry(r.kind)
                .or_default()
                .push((r.id.clone(), entry.clone()));
        }
    }
    let mut batch_tasks = tokio::task::JoinSet::new();
    for (kind, items) in batches {
        let (p, limit) = (provider.clone(), limit.clone());
        batch_tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
            let found = p.read_many(kind, items).await?;
            Ok::<_, CloudError>(ids.into_iter().zip(found).collect::<Vec<_>>())
        });
    }
    for r in stack.resources.iter().filter(|r| !r.kind.batches()) {
        let (p, limit, r) = (provider.clone(), limit.clone(), r.clone());
        if r.kind.is_lookup() {
            let props = r.resolve_all(&|_| None).unwrap_or(Json::Null);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let out = p.lookup(&r.id, r.kind, &props).await?;
                Ok::<_, CloudError>((r.id, Some(out), true))
            });
        } else if let Some(entry) = state.resources.get(&r.id).cloned() {
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let observed = p.read(&r.id, &entry).await?;
                Ok((r.id, observed, false))
            });
        }
    }
    let mut lookups = HashMap::new();
    let mut observed: HashMap<String, Option<Map<String, Json>>> = HashMap::new();
    while let Some(res) = batch_tasks.join_next().await {
        observed.extend(res.map_err(join_error)??);
    }
    while let Some(res) = tasks.join_next().await {
        let (id, out, is_lookup) = res.map_err(join_error)??;
        if is_lookup {
            lookups.insert(id, out.unwrap_or_default());
        } else {
            observed.insert(id, out);
        }
    }
    let mut found_earlier = std::collections::HashSet::new();
    while let Some(res) = discovery.join_next().await {
        found_earlier.extend(res.map_err(join_error)??);
    }
    // Absent: nothing in AWS carries its tags. Found: an earlier run made it and stopped
    // before recording it; the create adopts it.
    let absent: std::collections::HashSet<&str> = missing
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !found_earlier.contains(*id))
        .collect();

    let order = stack.graph.order().map_err(|e| internal(e.to_string()))?;
    let by_id: HashMap<&str, &Resource> =
        stack.resources.iter().map(|r| (r.id.as_str(), r)).collect();
    // Outputs known before apply: lookups, and owned resources that keep their identity.
    let mut known: HashMap<String, Map<String, Json>> = lookups.clone();
    let mut steps = Vec::new();
    for id in &order {
        let r = by_id[id.as_str()];
        if r.kind.is_lookup() {
            steps.push(Step {
                id: id.clone(),
                kind: r.kind,
                action: Action::Read,
                changes: Vec::new(),
                reason: None,
                absent: false,
            });
            continue;
        }
        let lookup = |re: &Ref| known.get(&re.resource)?.get(&re.attr).cloned();
        let entry = state.resources.get(id);
        let seen = observed.get(id).cloned().flatten();
        let (action, changes, reason) = match (entry, seen) {
            (None, _) if found_earlier.contains(id) => (
                Action::Create,
                creation(r, &lookup),
                Some("found in AWS by its tags: an earlier run made it and stopped before recording it, so it is adopted".to_string()),
            ),
            (None, _) => (Action::Create, creation(r, &lookup), None),
            (Some(e), Some(_)) if e.incomplete => (
                Action::Create,
                creation(r, &lookup),
                Some("an earlier run made it but did not finish setting it up: it is adopted and finished".to_string()),
            ),
            (Some(_), None) => (
                Action::Create,
                creation(r, &lookup),
                Some("it no longer exists in AWS (deleted outside provision?), so it is created again".to_string()),
            ),
            (Some(entry), Some(seen)) => {
                let mut changes = Vec::new();
                let mut replace = false;
                for (field, value) in &r.props {
                    let want = value.resolve(&lookup);
                    let have = seen.get(field).or_else(|| entry.props.get(field));
                    let before = changes.len();
                    match &want {
                        Some(w) => diff::leaves(field, have, Some(w), &mut changes),
                        None => changes.push(FieldChange {
                            path: field.clone(),
                            old: have.cloned(),
                            new: None,
                        }),
                    }
                    if changes.len() > before && r.kind.replace_fields().contains(&field.as_str()) {
                        replace = true;
                    }
                }
                let action = if changes.is_empty() {
                    Action::NoOp
                } else if replace {
                    Action::Replace
                } else {
                    Action::Update
                };
                (action, changes, None)
            }
        };
        let reason = match action {
            Action::Create | Action::Update | Action::Replace => reason.or_else(|| r.note.clone()),
            _ => reason,
        };
        let keeps_identity = match action {
            Action::NoOp => true,
            Action::Update => !r.kind.keeps_revisions(),
            _ => false,
        };
        if keeps_identity && let Some(e) = entry {
            known.insert(id.clone(), e.outputs.clone());
        }
        steps.push(Step {
            id: id.clone(),
            kind: r.kind,
            action,
            changes,
            reason,
            absent: absent.contains(id.as_str()),
        });
    }

    // What the state owns but the stack no longer wants: deleted, dependents first.
    let orphans: State = State {
        resources: state
            .resources
            .iter()
            .filter(|(id, _)| !by_id.contains_key(id.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..state.clone()
    };
    steps.extend(deletions(&orphans).map_err(|e| internal(e.to_string()))?);

    Ok(Plan {
        stack: stack.name.clone(),
        steps,
        lookups,
        desired: stack.resources.clone(),
        graph: stack.graph.clone(),
    })
}

/// Plan for `down`: delete everything the state owns, dependents first. A cycle among the
/// recorded dependencies is an error naming its members, never a guessed order.
pub fn plan_down(stack_name: &str, state: &State) -> Result<Plan, GraphError> {
    Ok(Plan {
        stack: stack_name.to_string(),
        steps: deletions(state)?,
        lookups: HashMap::new(),
        desired: Vec::new(),
        graph: Graph::new(),
    })
}

/// Deletions in the order the recorded dependencies give: the one place it is derived.
fn deletions(state: &State) -> Result<Vec<Step>, GraphError> {
    let order = state_graph(state).reverse_order()?;
    Ok(order
        .into_iter()
        .filter_map(|id| {
            let e = state.resources.get(&id)?;
            Some(Step {
                id,
                kind: e.kind,
                action: Action::Delete,
                changes: Vec::new(),
                reason: e.kind.plan_note(Change::Delete, Some(e)),
                absent: false,
            })
        })
        .collect())
}

/// The graph of owned resources from the dependencies recorded when they were applied.
pub fn state_graph(state: &State) -> Graph {
    let mut g = Graph::new();
    for (id, e) in &state.resources {
        g.add_node(id);
        for d in e.deps.iter().filter(|d| state.resources.contains_key(*d)) {
            g.add_edge(id, d);
        }
    }
    g
}

/// What a creation will set. Values not known yet show as a placeholder inside them, so a
/// container's image is visible even while its log group's name is not.
fn creation(r: &Resource, lookup: &dyn Fn(&Ref) -> Option<Json>) -> Vec<FieldChange> {
    let shown = |re: &Ref| lookup(re).or_else(|| Some(Json::String(UNKNOWN.into())));
    r.props
        .iter()
        .filter_map(|(k, v)| {
            let new = v
                .resolve(&shown)
                .filter(|v| v != &Json::String(UNKNOWN.into()));
            if matches!(new, Some(Json::Null)) {
                return None;
            }
            Some(FieldChange {
                path: k.clone(),
                old: None,
                new,
            })
        })
        .collect()
}

fn join_error(e: tokio::task::JoinError) -> CloudError {
    internal(format!("a read task failed: {e}"))
}

fn internal(message: String) -> CloudError {
    CloudError {
        resource: "plan".into(),
        operation: "planning".into(),
        code: None,
        message,
        hint: Some("this is a bug in provision; please report it with the stack file".into()),
    }
}

pub const UNKNOWN: &str = "(known after apply)";

/// Counts per action, for the summary line.
pub fn summary(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    m.insert("create", plan.count(Action::Create));
    m.insert("update", plan.count(Action::Update));
    m.insert("replace", plan.count(Action::Replace));
    m.insert("delete", plan.count(Action::Delete));
    m
}
