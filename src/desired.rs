//! Desired resources: what the stack asks for, as kinds, property values and references.
//! Values known only after apply (a VPC id) are `Ref`s; the references are also the edges
//! of the dependency graph, so the order can never drift from the data.

use indexmap::IndexMap;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// The resource kinds, as the registry in `resources/mod.rs` defines them.
pub use crate::resources::Kind;

/// A reference to an attribute of another resource, resolved once that one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub resource: String,
    pub attr: String,
    /// For list attributes: take element `pick % len` (round-robin over AZs).
    pub pick: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
    Ref(Ref),
    /// Parts joined into one string, e.g. an ARN made of the partition and a name.
    Join(Vec<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }
    pub fn reference(resource: &str, attr: &str) -> Value {
        Value::Ref(Ref {
            resource: resource.to_string(),
            attr: attr.to_string(),
            pick: None,
        })
    }
    pub fn opt_str(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::Str(s.into()))
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Ref>) {
        match self {
            Value::Ref(r) => out.push(r),
            Value::List(items) => items.iter().for_each(|v| v.collect_refs(out)),
            Value::Map(m) => m.values().for_each(|v| v.collect_refs(out)),
            Value::Join(parts) => parts.iter().for_each(|v| v.collect_refs(out)),
            _ => {}
        }
    }

    /// The JSON this value stands for, or `None` while a reference in it is not yet known.
    pub fn resolve(&self, lookup: &dyn Fn(&Ref) -> Option<Json>) -> Option<Json> {
        Some(match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Str(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(|v| v.resolve(lookup))
                    .collect::<Option<_>>()?,
            ),
            Value::Map(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), v.resolve(lookup)?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Join(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p.resolve(lookup)? {
                        Json::String(x) => s.push_str(&x),
                        other => s.push_str(&other.to_string()),
                    }
                }
                Json::String(s)
            }
            Value::Ref(r) => {
                let v = lookup(r)?;
                match (r.pick, v) {
                    (Some(i), Json::Array(items)) if !items.is_empty() => {
                        items[i % items.len()].clone()
                    }
                    (_, v) => v,
                }
            }
        })
    }
}

/// One resource the stack wants, with its logical id (`security_group.web`).
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub kind: Kind,
    pub props: IndexMap<String, Value>,
    /// Resources that must exist first though no value of theirs is used here (a policy
    /// that lets the service's tasks read a secret).
    pub after: Vec<String>,
    /// What the plan says about it when it is created or changed: a choice the stack file
    /// made for the user (the desired count left to autoscaling).
    pub note: Option<String>,
}

impl Resource {
    pub fn new(id: impl Into<String>, kind: Kind) -> Self {
        Resource {
            id: id.into(),
            kind,
            props: IndexMap::new(),
            after: Vec::new(),
            note: None,
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.props.insert(key.to_string(), value);
        self
    }

    /// The resources this one refers to.
    pub fn deps(&self) -> BTreeSet<String> {
        let mut refs = Vec::new();
        self.props.values().for_each(|v| v.collect_refs(&mut refs));
        refs.into_iter()
            .map(|r| r.resource.clone())
            .chain(self.after.iter().cloned())
            .collect()
    }

    /// All properties resolved, or `None` if any reference is still unknown.
    pub fn resolve_all(&self, lookup: &dyn Fn(&Ref) -> Option<Json>) -> Option<Json> {
        Value::Map(self.props.clone()).resolve(lookup)
    }
}
