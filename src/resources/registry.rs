//! `kinds!` turns the one-line-per-kind registry in `mod.rs` into the `Kind` enum, its
//! questions (label, replacement fields, plan notes) and `Provider for Aws`, which sends
//! each engine call to the kind's type. Nothing here knows a particular kind.

/// Generates each kind's `pub mod`, `Kind` and the dispatch from
/// `owned { Variant => module::Type, … } lookups { … }`.
#[macro_export]
#[doc(hidden)]
macro_rules! kinds {
    (
        owned { $($o:ident => $om:ident :: $ot:ident),* $(,)? }
        lookups { $($l:ident => $lm:ident :: $lt:ident),* $(,)? }
    ) => {
        $(pub mod $om;)*
        $(pub mod $lm;)*

        /// Every resource kind provision knows, from the registry. Lookups are read, never
        /// created or deleted.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum Kind {
            $($o,)*
            $($l,)*
        }

        $(impl $crate::resources::kind::KindOf for $om::$ot {
            const KIND: Kind = Kind::$o;
        })*

        impl Kind {
            /// Every kind the stack can own, in registry order.
            pub const OWNED: &'static [Kind] = &[$(Kind::$o,)*];

            pub fn is_lookup(self) -> bool {
                match self {
                    $(Kind::$o => false,)*
                    $(Kind::$l => true,)*
                }
            }

            /// How a person calls it.
            pub fn label(self) -> &'static str {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::LABEL,)*
                    $(Kind::$l => <$lm::$lt as $crate::resources::kind::Lookup>::LABEL,)*
                }
            }

            /// Properties AWS cannot change in place: a change means a new resource.
            pub fn replace_fields(self) -> &'static [&'static str] {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::REPLACE_ON,)*
                    $(Kind::$l => &[],)*
                }
            }

            /// Whether the plan reads this kind in one batch (`Owned::BATCHES`).
            pub fn batches(self) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::BATCHES,)*
                    $(Kind::$l => false,)*
                }
            }

            /// Whether this kind needs `dep` only to exist (`Owned::EARLY`).
            pub fn early_on(self, dep: Kind) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::EARLY.contains(&dep),)*
                    $(Kind::$l => false,)*
                }
            }

            /// Whether this kind's creation need not wait for `dep` to start (`Owned::DONE_AFTER`).
            pub fn done_after(self, dep: Kind) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::DONE_AFTER.contains(&dep),)*
                    $(Kind::$l => false,)*
                }
            }

            /// Whether this kind's deletion lets go of `dep` before it ends (`Owned::LETS_GO`).
            pub fn lets_go_early(self, dep: Kind) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::LETS_GO.contains(&dep),)*
                    $(Kind::$l => false,)*
                }
            }

            /// Whether an update makes a new identity whose ids are all kept (revisions).
            pub fn keeps_revisions(self) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::KEEPS_REVISIONS,)*
                    $(Kind::$l => false,)*
                }
            }

            /// Whether provision can replace it (`Owned::REPLACEABLE`).
            pub fn replaceable(self) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::REPLACEABLE,)*
                    $(Kind::$l => true,)*
                }
            }

            /// Whether a replacement makes the new resource before deleting the old one.
            pub fn creates_first(self) -> bool {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::REPLACEMENT
                        == $crate::resources::kind::Replacement::CreateFirst,)*
                    $(Kind::$l => false,)*
                }
            }

            /// `props` as the new resource of a create-first replacement needs them:
            /// renamed with `suffix` where AWS wants unique names.
            pub fn fresh_props(self, props: &serde_json::Value, suffix: &str) -> serde_json::Value {
                fn renamed<K: $crate::resources::kind::Owned>(props: &serde_json::Value, suffix: &str) -> Option<serde_json::Value> {
                    let mut p: K::Props = serde_json::from_value(props.clone()).ok()?;
                    K::fresh_name(&mut p, suffix);
                    serde_json::to_value(p).ok()
                }
                let fresh = match self {
                    $(Kind::$o => renamed::<$om::$ot>(props, suffix),)*
                    $(Kind::$l => None,)*
                };
                fresh.unwrap_or_else(|| props.clone())
            }

            /// What the plan should add about a change, if anything.
            pub fn plan_note(
                self,
                change: $crate::resources::kind::Change,
                e: Option<&$crate::state::Entry>,
            ) -> Option<String> {
                match self {
                    $(Kind::$o => <$om::$ot as $crate::resources::kind::Owned>::plan_note(change, e),)*
                    $(Kind::$l => None,)*
                }
            }

            /// How the plan tells that a looked-up resource is used, if it should.
            pub fn used_note(self, outputs: &$crate::resources::kind::Fields) -> Option<String> {
                match self {
                    $(Kind::$o => None,)*
                    $(Kind::$l => <$lm::$lt as $crate::resources::kind::Lookup>::used_note(outputs),)*
                }
            }
        }

        impl $crate::provider::Provider for Aws {
            async fn lookup(
                &self,
                id: &str,
                kind: Kind,
                props: &serde_json::Value,
            ) -> Result<$crate::resources::kind::Fields, $crate::provider::CloudError> {
                use $crate::resources::kind::Lookup;
                let key = format!("lookup/{id} {kind:?} {props}");
                match kind {
                    $(Kind::$l => self
                        .c
                        .memo
                        .once(&key, || <$lm::$lt>::lookup(&self.c, id, props))
                        .await?
                        .ok_or_else(|| $crate::resources::memo_bug(id, &key)),)*
                    $(Kind::$o => Err(error::own(
                        id,
                        "lookup",
                        format!("{} is not a lookup", kind.label()),
                        "this is a bug in provision",
                    )),)*
                }
            }

            async fn read(
                &self,
                id: &str,
                e: &$crate::state::Entry,
            ) -> Result<Option<$crate::resources::kind::Fields>, $crate::provider::CloudError> {
                use $crate::resources::kind::Owned;
                let observed = match e.kind {
                    $(Kind::$o => <$om::$ot>::read(&self.c, id, e).await?,)*
                    $(Kind::$l => None,)*
                };
                // What AWS does not report back is taken as last applied.
                Ok(observed.map(|o| props::overlay(&e.props, &serde_json::Value::Object(o))))
            }

            async fn read_many(
                &self,
                kind: Kind,
                items: Vec<(String, $crate::state::Entry)>,
            ) -> Result<Vec<Option<$crate::resources::kind::Fields>>, $crate::provider::CloudError> {
                use $crate::resources::kind::Owned;
                let observed = match kind {
                    $(Kind::$o => <$om::$ot>::read_many(&self.c, &items).await?,)*
                    $(Kind::$l => vec![None; items.len()],)*
                };
                Ok(observed
                    .into_iter()
                    .zip(&items)
                    .map(|(o, (_, e))| o.map(|o| props::overlay(&e.props, &serde_json::Value::Object(o))))
                    .collect())
            }

            async fn create(
                &self,
                t: &$crate::provider::Target,
                p: &serde_json::Value,
            ) -> Result<$crate::provider::Applied, $crate::provider::CloudError> {
                use $crate::resources::kind::{Owned, props};
                match t.kind {
                    $(Kind::$o => <$om::$ot>::create(&self.c, t, &props::<$om::$ot>(&t.id, p)?).await,)*
                    $(Kind::$l => Err(not_owned(t)),)*
                }
            }

            async fn update(
                &self,
                t: &$crate::provider::Target,
                e: &$crate::state::Entry,
                p: &serde_json::Value,
            ) -> Result<$crate::provider::Applied, $crate::provider::CloudError> {
                use $crate::resources::kind::{Owned, props};
                match t.kind {
                    $(Kind::$o => <$om::$ot>::update(&self.c, t, e, &props::<$om::$ot>(&t.id, p)?).await,)*
                    $(Kind::$l => Err(not_owned(t)),)*
                }
            }

            async fn delete(
                &self,
                t: &$crate::provider::Target,
                e: &$crate::state::Entry,
            ) -> Result<(), $crate::provider::CloudError> {
                use $crate::resources::kind::Owned;
                match t.kind {
                    $(Kind::$o => <$om::$ot>::delete(&self.c, t, e).await,)*
                    // Lookups are never owned, so never deleted.
                    $(Kind::$l => Ok(()),)*
                }
            }

            async fn discover(
                &self,
                kind: Kind,
                stack: &str,
            ) -> Result<Vec<$crate::resources::kind::Found>, $crate::provider::CloudError> {
                match kind {
                    $(Kind::$o => $crate::resources::discovered::<$om::$ot>(&self.c, stack).await,)*
                    $(Kind::$l => Ok(Vec::new()),)*
                }
            }

            async fn live_outputs(
                &self,
                id: &str,
                e: &$crate::state::Entry,
            ) -> Result<$crate::resources::kind::Fields, $crate::provider::CloudError> {
                use $crate::resources::kind::Owned;
                match e.kind {
                    $(Kind::$o => <$om::$ot>::live_outputs(&self.c, id, e).await,)*
                    $(Kind::$l => Ok(Default::default()),)*
                }
            }

            async fn wait_ready(
                &self,
                t: &$crate::provider::Target,
                a: &$crate::provider::Applied,
                timeout: std::time::Duration,
            ) -> Result<(), $crate::provider::CloudError> {
                use $crate::resources::kind::Owned;
                match t.kind {
                    $(Kind::$o => <$om::$ot>::wait_ready(&self.c, t, a, timeout).await,)*
                    $(Kind::$l => Ok(()),)*
                }
            }
        }

        fn not_owned(t: &$crate::provider::Target) -> $crate::provider::CloudError {
            error::own(
                &t.id,
                "create",
                format!("{} is looked up, not created", t.kind.label()),
                "this is a bug in provision",
            )
        }
    };
}
