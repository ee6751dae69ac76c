//! Who and where: account, partition and region, from STS (which also checks credentials).

use super::error::cloud;
use super::kind::{Fields, Lookup};
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The account.
pub struct Account;

/// Who the run's credentials are: asked of STS once a run, for the lookup and for ARNs
/// built rather than read back (a log group's).
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub partition: String,
}

const KEY: &str = "sts:GetCallerIdentity";

pub async fn caller(c: &Clients) -> Result<Caller, CloudError> {
    let ask = || async {
        let me = c
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| cloud("your AWS identity", "GetCallerIdentity", e))?;
        let partition = me
            .arn()
            .unwrap_or("arn:aws:")
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
            .to_string();
        Ok::<_, CloudError>(Caller {
            account_id: me.account().unwrap_or_default().to_string(),
            partition,
        })
    };
    c.memo
        .once(KEY, ask)
        .await?
        .ok_or_else(|| super::memo_bug("your AWS identity", KEY))
}

impl Lookup for Account {
    const LABEL: &'static str = "account";

    async fn lookup(c: &Clients, _id: &str, _props: &Json) -> Result<Fields, CloudError> {
        let me = caller(c).await?;
        Ok(super::props::outputs(&[
            ("account_id", json!(me.account_id)),
            ("partition", json!(me.partition)),
            ("region", json!(c.region)),
        ]))
    }

    fn used_note(_outputs: &Fields) -> Option<String> {
        None
    }
}
