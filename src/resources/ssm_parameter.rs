//! A public SSM parameter, such as AWS's current ECS-optimized AMI: looked up, never owned.

use super::error::{cloud, is_code, own};
use super::kind::{Fields, Lookup};
use super::props::s;
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The SSM parameter.
pub struct SsmParameter;

impl Lookup for SsmParameter {
    const LABEL: &'static str = "SSM parameter";

    async fn lookup(c: &Clients, id: &str, props: &Json) -> Result<Fields, CloudError> {
        let name = s(props, "name");
        match c.ssm.get_parameter().name(name).send().await {
            Ok(out) => {
                let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
                Ok(super::props::outputs(&[
                    ("value", json!(value)),
                    ("name", json!(name)),
                ]))
            }
            Err(e) if is_code(&e, &["ParameterNotFound"]) => Err(own(
                id,
                "GetParameter",
                format!(
                    "the SSM parameter {name} does not exist in region {}",
                    c.region
                ),
                "the ECS-optimized AMI is published in every commercial region; check --region",
            )),
            Err(e) => Err(cloud(id, "GetParameter", e)),
        }
    }

    fn used_note(_outputs: &Fields) -> Option<String> {
        None
    }
}
