//! Who and where: account, partition and region, from STS (which also checks credentials).

use super::error::cloud;
use super::kind::{Fields, Lookup};
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The account.
pub struct Account;

impl Lookup for Account {
    const LABEL: &'static str = "account";

    async fn lookup(c: &Clients, _id: &str, _props: &Json) -> Result<Fields, CloudError> {
        let me = c
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| cloud("your AWS identity", "GetCallerIdentity", e))?;
        let arn = me.arn().unwrap_or("arn:aws:");
        let partition = arn
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws");
        Ok(super::props::outputs(&[
            ("account_id", json!(me.account().unwrap_or_default())),
            ("partition", json!(partition)),
            ("region", json!(c.region)),
        ]))
    }

    fn used_note(_outputs: &Fields) -> Option<String> {
        None
    }
}
