//! Reading resolved properties, and shaping what AWS reports like what was applied.

use crate::provider::{Applied, CloudError};
use crate::state::Entry;
use serde_json::{Map, Value as Json};

pub fn s<'a>(p: &'a Json, key: &str) -> &'a str {
    p.get(key).and_then(Json::as_str).unwrap_or_default()
}

pub fn opt_s<'a>(p: &'a Json, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Json::as_str).filter(|s| !s.is_empty())
}

pub fn b(p: &Json, key: &str) -> bool {
    p.get(key).and_then(Json::as_bool).unwrap_or(false)
}

pub fn outputs(pairs: &[(&str, Json)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub fn applied(physical_id: &str, pairs: &[(&str, Json)]) -> Result<Applied, CloudError> {
    Ok(Applied {
        physical_id: physical_id.to_string(),
        outputs: outputs(pairs),
    })
}

pub fn unchanged(e: &Entry) -> Applied {
    Applied {
        physical_id: e.physical_id.clone(),
        outputs: e.outputs.clone(),
    }
}

/// `observed` laid over `applied`: where AWS reports nothing (null or missing), the
/// applied value stands, so only what AWS really reports can show up as drift.
pub fn overlay(applied: &Json, observed: &Json) -> Map<String, Json> {
    match overlay_value(applied, observed) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

fn overlay_value(applied: &Json, observed: &Json) -> Json {
    match (applied, observed) {
        (a, Json::Null) => a.clone(),
        (Json::Object(a), Json::Object(o)) => {
            let mut m = a.clone();
            for (k, v) in o {
                let base = a.get(k).unwrap_or(&Json::Null);
                m.insert(k.clone(), overlay_value(base, v));
            }
            Json::Object(m)
        }
        (Json::Array(a), Json::Array(o)) if a.len() == o.len() => {
            Json::Array(a.iter().zip(o).map(|(x, y)| overlay_value(x, y)).collect())
        }
        (_, o) => o.clone(),
    }
}

/// A list AWS returns in its own order, put in the applied order when it holds the same items.
pub fn ordered_like(observed: Vec<Json>, applied: Option<&Json>) -> Json {
    if let Some(Json::Array(a)) = applied {
        let same_items = a.len() == observed.len() && a.iter().all(|x| observed.contains(x));
        if same_items {
            return Json::Array(a.clone());
        }
    }
    Json::Array(observed)
}

/// An output as a person reads it: strings without quotes.
pub fn shown(outputs: &Map<String, Json>, key: &str) -> String {
    match outputs.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}
