//! The closed set of things a plan can do to a resource.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A lookup: read, never changed.
    Read,
    NoOp,
    Create,
    Update,
    /// Delete and create again: AWS cannot change a field in place.
    Replace,
    Delete,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Read => "<=",
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    /// The word for it in events and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::NoOp => "no_op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }

    pub fn is_change(self) -> bool {
        !matches!(self, Action::Read | Action::NoOp)
    }
}
