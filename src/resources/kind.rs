//! What a resource kind is: one type behind one of these traits, in one file. The
//! registry in `mod.rs` lists the kinds, one line each; the engine asks a kind through
//! `Kind`'s methods and never matches on a specific one. Every method is required, so a
//! kind that forgets one does not compile.

use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};
use std::future::Future;
use std::time::Duration;

/// Outputs (or observed properties) by name.
pub type Fields = Map<String, Json>;

/// A kind the stack creates, owns and deletes.
pub trait Owned: Send + Sync + 'static {
    /// Its properties, typed. Expansion writes them; a kind reads fields, never string keys.
    type Props: Serialize + DeserializeOwned + Send + Sync;

    /// How a person calls it ("security group").
    const LABEL: &'static str;

    /// Properties AWS cannot change in place: a change means a new resource.
    const REPLACE_ON: &'static [&'static str];

    /// What exists now, in the shape of its props; `None` if it is gone.
    fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> impl Future<Output = Result<Option<Fields>, CloudError>> + Send;

    /// Creates it (or adopts the one a crashed run created, found by its tags).
    fn create(
        c: &Clients,
        t: &Target,
        p: &Self::Props,
    ) -> impl Future<Output = Result<Applied, CloudError>> + Send;

    /// Changes it in place to match `p`.
    fn update(
        c: &Clients,
        t: &Target,
        e: &Entry,
        p: &Self::Props,
    ) -> impl Future<Output = Result<Applied, CloudError>> + Send;

    /// Deletes it; already gone counts as deleted.
    fn delete(
        c: &Clients,
        t: &Target,
        e: &Entry,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Waits until what `create` or `update` made is ready for use, within `timeout`.
    fn wait_ready(
        c: &Clients,
        t: &Target,
        a: &Applied,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Values that change while the stack runs (a service's task addresses), for `outputs`.
    fn live_outputs(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> impl Future<Output = Result<Fields, CloudError>> + Send;

    /// What the plan says about an update or a deletion, when a person must know more
    /// (a new revision is registered; whether data survives).
    fn plan_note(action: Change, e: Option<&Entry>) -> Option<String>;

    /// Every resource of this kind that `stack` owns, found in AWS by its tags (or, where
    /// AWS cannot list by tag, by the stack's names confirmed by tags): what recovery and
    /// adoption start from when the state is missing.
    fn discover(
        c: &Clients,
        stack: &str,
    ) -> impl Future<Output = Result<Vec<Found>, CloudError>> + Send;

    /// What a refusal from AWS means for this kind: final, or a wait until AWS lets go.
    fn classify(e: &CloudError) -> Retry;

    /// How a replacement goes (see `Replacement`).
    const REPLACEMENT: Replacement;

    /// For a create-first replacement: gives `p` the fresh name the new resource needs
    /// where AWS wants names unique (a security group: `<name>-<suffix>`).
    fn fresh_name(p: &mut Self::Props, suffix: &str);

    /// Whether every id an update returns is kept, so `down` removes them all (task
    /// definition revisions); otherwise an update keeps the resource's identity.
    const KEEPS_REVISIONS: bool;

    /// Dependencies this kind needs only to exist, not to be finished (a subnet needs its
    /// VPC's id, not its DNS settings): its create starts once their ids are recorded.
    /// Whatever waits for this kind to be done still finds these done too.
    const EARLY: &'static [crate::resources::Kind] = &[];

    /// Dependencies its create call does not use at all, only what it does after (a
    /// Fargate service's tasks pull images through the internet route; CreateService needs
    /// no route): its create starts without waiting for them, and it counts as done only
    /// once they are. Deletions still go in the recorded order.
    const DONE_AFTER: &'static [crate::resources::Kind] = &[];

    /// Dependencies its deletion lets go of before it ends (a gateway detached from its
    /// VPC), saying so with `Target::released`: their deletions start then.
    const LETS_GO: &'static [crate::resources::Kind] = &[];

    /// Whether provision can replace it. Not a VPC or an ECS cluster: AWS deletes one only
    /// once what is in it is gone, and the engine does not yet take a resource's dependents
    /// out before a delete-first replacement (a create-first one among them would make a
    /// cycle). `up` refuses such a plan before any change.
    const REPLACEABLE: bool = true;

    /// Whether `read_many` reads many in a few calls (a list filtered by ids or a prefix):
    /// a plan then reads all of this kind at once instead of one call each.
    const BATCHES: bool = false;

    /// `read` for several, in the same order; by default one `read` each. Kinds that can
    /// list many at once (by ids, by a prefix) override it and set `BATCHES`.
    fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> impl Future<Output = Result<Vec<Option<Fields>>, CloudError>> + Send {
        async move {
            let mut out = Vec::with_capacity(items.len());
            for (id, e) in items {
                out.push(Self::read(c, id, e).await?);
            }
            Ok(out)
        }
    }
}

/// A kind the stack only reads (the default VPC, an existing role): never created or deleted.
pub trait Lookup: Send + Sync + 'static {
    const LABEL: &'static str;

    /// Its outputs.
    fn lookup(
        c: &Clients,
        id: &str,
        props: &Json,
    ) -> impl Future<Output = Result<Fields, CloudError>> + Send;

    /// How the plan tells that the stack uses it, for the ones a reader should know about.
    fn used_note(outputs: &Fields) -> Option<String>;
}

/// The changes a kind may comment on in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Update,
    Replace,
    Delete,
}

/// A resource found in AWS that carries the stack's tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its logical id (the `provision:id` tag).
    pub id: String,
    /// AWS's id for it, as the state records it.
    pub physical_id: String,
    /// Its outputs, as its creation would have recorded them: what others refer to.
    pub outputs: Fields,
}

impl Found {
    /// With these outputs.
    pub fn with(mut self, pairs: &[(&str, Json)]) -> Self {
        self.outputs = super::props::outputs(pairs);
        self
    }
}

/// What to do about an error AWS answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Final: report it.
    No,
    /// AWS refuses while something still holds the resource (a task's interface, an
    /// instance in the cluster): try again until it lets go, within a budget.
    UntilReleased,
}

/// `UntilReleased` when AWS answered one of `codes`, else `No`.
pub fn released_on(e: &CloudError, codes: &[&str]) -> Retry {
    match e.code.as_deref() {
        Some(c) if codes.contains(&c) => Retry::UntilReleased,
        _ => Retry::No,
    }
}

/// How a resource is replaced when a field AWS cannot change in place changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    /// Make the new one first (renamed where AWS needs unique names), move what uses it
    /// over, then delete the old one: nothing in use is ever deleted.
    CreateFirst,
    /// Delete, then create: for kinds AWS cannot hold twice (a subnet's CIDR block).
    DeleteFirst,
}

/// Nothing to wait for: ready as soon as AWS answered.
pub async fn ready_at_once() -> Result<(), CloudError> {
    Ok(())
}

/// Nothing that changes while the stack runs.
pub async fn no_live_outputs() -> Result<Fields, CloudError> {
    Ok(Fields::new())
}

/// The typed properties of `K` from their JSON (desired, resolved, or as recorded).
pub fn props<K: Owned>(id: &str, p: &Json) -> Result<K::Props, CloudError> {
    serde_json::from_value(p.clone()).map_err(|e| CloudError {
        resource: id.to_string(),
        operation: format!("reading the {} properties", K::LABEL),
        code: None,
        message: e.to_string(),
        hint: Some(
            "the state file may be from another version of provision; if not, this is a bug in provision"
                .into(),
        ),
    })
}

/// Which `Kind` a kind's type is; generated by the registry.
pub trait KindOf {
    const KIND: crate::resources::Kind;
}

/// Declares a kind's properties once and generates two shapes of them: `Props`, typed, as
/// the kind reads them once every reference is resolved; and `Desired`, the same fields as
/// expansion writes them (a value, or a reference to another resource's output). A field
/// renamed or forgotten on either side is a compile error. Without `for Kind;` it declares
/// a nested value (a container of a task definition) the same way.
#[macro_export]
macro_rules! props {
    (
        for $owner:ty;
        $(#[$m:meta])*
        pub struct $name:ident / $desired:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }
    ) => {
        $crate::props!(@shapes $(#[$m])* $name / $desired { $( $(#[$fm])* $f : $t ),* });

        impl $desired {
            /// The desired resource `id` of this kind.
            pub fn resource(self, id: impl Into<String>) -> $crate::desired::Resource {
                let mut r = $crate::desired::Resource::new(
                    id,
                    <$owner as $crate::resources::kind::KindOf>::KIND,
                );
                $( r.props.insert(stringify!($f).to_string(), self.$f); )*
                r
            }
        }
    };
    (
        $(#[$m:meta])*
        pub struct $name:ident / $desired:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }
    ) => {
        $crate::props!(@shapes $(#[$m])* $name / $desired { $( $(#[$fm])* $f : $t ),* });

        impl $desired {
            /// This nested value as expansion writes it.
            pub fn value(self) -> $crate::desired::Value {
                let mut m = indexmap::IndexMap::new();
                $( m.insert(stringify!($f).to_string(), self.$f); )*
                $crate::desired::Value::Map(m)
            }
        }
    };
    (@shapes $(#[$m:meta])* $name:ident / $desired:ident { $( $(#[$fm:meta])* $f:ident : $t:ty ),* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $name { $( $(#[$fm])* pub $f: $t ),* }

        /// The same fields as expansion writes them: values, or references resolved at apply.
        #[derive(Debug, Clone)]
        pub struct $desired { $( pub $f: $crate::desired::Value ),* }
    };
}
