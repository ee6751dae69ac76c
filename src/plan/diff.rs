//! Field-level differences between what is desired and what exists.

use serde::Serialize;
use serde_json::Value as Json;

/// One changed value; `new: None` means "known after apply".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    pub old: Option<Json>,
    pub new: Option<Json>,
}

/// Null and a missing key mean the same; lists of strings compare in order.
pub fn same(a: Option<&Json>, b: Option<&Json>) -> bool {
    match (a, b) {
        (None | Some(Json::Null), None | Some(Json::Null)) => true,
        (Some(Json::Object(x)), Some(Json::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| same(x.get(k), y.get(k)))
        }
        (Some(Json::Array(x)), Some(Json::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(Some(a), Some(b)))
        }
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The leaves that differ between `old` and `new`, named like `containers[0].image`.
pub fn leaves(path: &str, old: Option<&Json>, new: Option<&Json>, out: &mut Vec<Change>) {
    if same(old, new) {
        return;
    }
    match (old, new) {
        (Some(Json::Object(a)), Some(Json::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                leaves(&format!("{path}.{k}"), a.get(k), b.get(k), out);
            }
        }
        (Some(Json::Array(a)), Some(Json::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                leaves(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        _ => out.push(Change {
            path: path.to_string(),
            old: old.cloned(),
            new: new.cloned(),
        }),
    }
}
