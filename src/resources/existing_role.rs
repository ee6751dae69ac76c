//! An IAM role the stack uses but does not own (named in the file): looked up, never deleted.

use super::error::{cloud, is_code, own};
use super::kind::{Fields, Lookup};
use super::props::s;
use super::props::shown;
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The existing IAM role.
pub struct ExistingRole;

impl Lookup for ExistingRole {
    const LABEL: &'static str = "existing IAM role";

    async fn lookup(c: &Clients, id: &str, props: &Json) -> Result<Fields, CloudError> {
        let given = s(props, "name");
        // Accept a name or an ARN (arn:aws:iam::123456789012:role/path/name).
        let name = given.rsplit('/').next().unwrap_or(given);
        match c.iam.get_role().role_name(name).send().await {
            Ok(out) => {
                let arn = out.role().map(|r| r.arn().to_string()).unwrap_or_default();
                Ok(super::props::outputs(&[
                    ("arn", json!(arn)),
                    ("name", json!(name)),
                ]))
            }
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Err(own(
                id,
                "GetRole",
                format!("the IAM role `{given}` does not exist"),
                "create it first, or leave `execution_role` out and the stack creates one",
            )),
            Err(e) => Err(cloud(id, "GetRole", e)),
        }
    }

    fn used_note(outputs: &Fields) -> Option<String> {
        Some(format!(
            "uses the IAM role {} (never changed or deleted)",
            shown(outputs, "arn")
        ))
    }
}
