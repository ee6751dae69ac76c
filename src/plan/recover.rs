//! When the state is lost (a fresh CI runner): what the stack owns, found in AWS by its
//! tags, one paginated list per kind, and made into the state the runs that created it
//! would have written. The stack file gives what AWS does not say: the order to delete
//! in (each resource's references) and the settings it was made with.

use crate::desired::{Kind, Ref};
use crate::provider::{CloudError, Provider};
use crate::stack::Stack;
use crate::state::{Entry, State, VERSION};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The state of `stack` as AWS tells it, and what was found that the file no longer has.
pub async fn recover<P: Provider>(stack: &Stack, provider: Arc<P>) -> Result<State, CloudError> {
    let mut tasks = tokio::task::JoinSet::new();
    for kind in Kind::OWNED {
        let (p, name, kind) = (provider.clone(), stack.name.clone(), *kind);
        tasks.spawn(async move { Ok::<_, CloudError>((kind, p.discover(kind, &name).await?)) });
    }
    for r in stack.resources.iter().filter(|r| r.kind.is_lookup()) {
        let (p, r) = (provider.clone(), r.clone());
        tasks.spawn(async move {
            let props = r.resolve_all(&|_| None).unwrap_or(Json::Null);
            let out = p.lookup(&r.id, r.kind, &props).await?;
            let found = crate::resources::kind::Found {
                id: r.id.clone(),
                physical_id: String::new(),
                outputs: out,
            };
            Ok((r.kind, vec![found]))
        });
    }
    let mut found = Vec::new();
    let mut known: HashMap<String, Map<String, Json>> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (kind, items) = joined.map_err(|e| CloudError {
            resource: "recovery".into(),
            operation: "discovering".into(),
            code: None,
            message: e.to_string(),
            hint: Some("this is a bug in provision".into()),
        })??;
        for f in items {
            known
                .entry(f.id.clone())
                .or_insert_with(|| f.outputs.clone());
            if !kind.is_lookup() {
                found.push((kind, f));
            }
        }
    }
    // Two with one id (a replacement that stopped halfway): the second is the old one.
    found.sort_by(|a, b| (&a.1.id, &a.1.physical_id).cmp(&(&b.1.id, &b.1.physical_id)));
    let desired: HashMap<&str, &crate::desired::Resource> =
        stack.resources.iter().map(|r| (r.id.as_str(), r)).collect();
    let lookup = |r: &Ref| known.get(&r.resource)?.get(&r.attr).cloned();
    let mut resources = BTreeMap::new();
    for (kind, f) in found {
        let mut id = f.id.clone();
        let mut n = 1;
        while resources.contains_key(&id) {
            id = match n {
                1 => format!("{}{}", f.id, crate::exec::OLD),
                _ => format!("{} (old {n})", f.id),
            };
            n += 1;
        }
        let want = desired.get(f.id.as_str());
        let props = want
            .map(|r| resolved_as_far_as_known(r, &lookup))
            .unwrap_or_else(|| Json::Object(Map::new()));
        let deps = want
            .map(|r| r.deps().into_iter().collect())
            .unwrap_or_default();
        let revisions = if kind.keeps_revisions() {
            vec![f.physical_id.clone()]
        } else {
            Vec::new()
        };
        resources.insert(
            id,
            Entry {
                kind,
                physical_id: f.physical_id,
                props,
                outputs: f.outputs,
                deps,
                revisions,
                incomplete: false,
            },
        );
    }
    Ok(State {
        version: VERSION,
        stack: stack.name.clone(),
        resources,
    })
}

/// The desired properties with every reference that can be resolved; the others null.
fn resolved_as_far_as_known(
    r: &crate::desired::Resource,
    lookup: &dyn Fn(&Ref) -> Option<Json>,
) -> Json {
    let null_if_unknown = |re: &Ref| lookup(re).or(Some(Json::Null));
    r.resolve_all(&null_if_unknown).unwrap_or(Json::Null)
}
