//! An inline policy on a role the stack owns (the execution role reading a secret).

use super::error::{cloud, found, gone};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::{applied, s};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// IAM role policy.
pub struct RolePolicy;

crate::props! {
    for RolePolicy;
    pub struct Props / Desired {
        pub role_name: String,
        pub policy_name: String,
        pub document: Json,
    }
}

const NOT_FOUND: &[&str] = &["NoSuchEntity"];

/// IAM returns policy documents URL-encoded (RFC 3986).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Owned for RolePolicy {
    type Props = Props;
    const LABEL: &'static str = "IAM role policy";
    const REPLACE_ON: &'static [&'static str] = &["role_name", "policy_name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let (role, name) = (s(&e.props, "role_name"), s(&e.props, "policy_name"));
        let got = c
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await;
        let Some(got) = found(got, NOT_FOUND, id, "GetRolePolicy")? else {
            return Ok(None);
        };
        let raw = got.policy_document();
        let doc = serde_json::from_str::<Json>(raw)
            .ok()
            .or_else(|| percent_decode(raw).and_then(|d| serde_json::from_str(&d).ok()));
        Ok(Some(super::props::outputs(&[(
            "document",
            doc.unwrap_or(Json::Null),
        )])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let (role, name) = (p.role_name.as_str(), p.policy_name.as_str());
        let doc = p.document.to_string();
        c.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(doc)
            .send()
            .await
            .map_err(|e| cloud(&t.id, "PutRolePolicy", e))?;
        applied(&format!("{role}/{name}"), &[("name", json!(name))])
    }

    async fn update(c: &Clients, t: &Target, _e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        Self::create(c, t, p).await
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let (role, name) = (s(&e.props, "role_name"), s(&e.props, "policy_name"));
        let r = c
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await;
        gone(r, NOT_FOUND, &t.id, "DeleteRolePolicy")
    }

    async fn wait_ready(
        _c: &Clients,
        _t: &Target,
        _a: &Applied,
        _timeout: Duration,
    ) -> Result<(), CloudError> {
        ready_at_once().await
    }

    async fn live_outputs(_c: &Clients, _id: &str, _e: &Entry) -> Result<Fields, CloudError> {
        no_live_outputs().await
    }

    /// Inline policies carry no tags: they are found in the stack's roles, by the names
    /// the stack gives them (`<stack>-<service>-secrets`).
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        for role in super::discovered::<super::iam_role::IamRole>(c, stack).await? {
            let mut pages = c
                .iam
                .list_role_policies()
                .role_name(&role.physical_id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| cloud(stack, "ListRolePolicies", e))?;
                for name in page.policy_names() {
                    let service = name
                        .strip_prefix(&format!("{stack}-"))
                        .and_then(|n| n.strip_suffix("-secrets"));
                    if let Some(service) = service {
                        out.push(
                            Found {
                                id: format!("iam_role_policy.{service}_secrets"),
                                physical_id: format!("{}/{name}", role.physical_id),
                                outputs: Default::default(),
                            }
                            .with(&[("name", json!(name))]),
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
