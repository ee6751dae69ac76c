//! IAM roles the stack creates, trusted by one AWS service, with managed policies attached.

use super::error::{cloud, found, gone, is_code};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::{applied, ordered_like};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_iam::types::Tag;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// IAM role.
pub struct IamRole;

crate::props! {
    for IamRole;
    pub struct Props / Desired {
        pub role_name: String,
        pub trust_service: String,
        pub managed_policy_arns: Vec<String>,
    }
}

const NOT_FOUND: &[&str] = &["NoSuchEntity"];

/// IAM tags as pairs (IAM's `Tag` has plain `key()` and `value()`, unlike the others').
pub(super) fn iam_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn trust(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

async fn attached(c: &Clients, id: &str, name: &str) -> Result<Vec<String>, CloudError> {
    let out = c
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| cloud(id, "ListAttachedRolePolicies", e))?;
    Ok(out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

/// Detaches these managed policies together; one not attached (or a role already gone)
/// counts as detached.
async fn detach(c: &Clients, t: &Target, name: &str, arns: &[String]) -> Result<(), CloudError> {
    let each = arns.iter().map(|arn| async move {
        match c
            .iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
        {
            Err(err) if is_code(&err, NOT_FOUND) => Ok(()),
            other => other
                .map(|_| ())
                .map_err(|err| cloud(&t.id, "DetachRolePolicy", err)),
        }
    });
    futures_util::future::try_join_all(each).await?;
    Ok(())
}

async fn converge_policies(
    c: &Clients,
    t: &Target,
    name: &str,
    want: &[String],
    have: Option<Vec<String>>,
) -> Result<(), CloudError> {
    let have = match have {
        Some(h) => h,
        None => attached(c, &t.id, name).await?,
    };
    let gone_now: Vec<String> = have.iter().filter(|a| !want.contains(a)).cloned().collect();
    detach(c, t, name, &gone_now).await?;
    // Independent of one another: attached together.
    let attach = want
        .iter()
        .filter(|a| !have.contains(a))
        .map(|arn| async move {
            c.iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| cloud(&t.id, "AttachRolePolicy", e))
        });
    futures_util::future::try_join_all(attach).await?;
    Ok(())
}

/// The role of this name: ours (made by a run that stopped before recording it), or an
/// error when it belongs to someone else.
async fn existing(c: &Clients, t: &Target, name: &str) -> Result<Option<String>, CloudError> {
    match c.iam.get_role().role_name(name).send().await {
        Ok(out) => {
            let role = out.role();
            let tags = role.map(|r| iam_pairs(r.tags())).unwrap_or_default();
            if !super::owned_by(&tags, t) {
                return Err(foreign(
                    t,
                    "CreateRole",
                    format!("an IAM role named {name}"),
                    "name it in the stack file as `execution_role: <name>` to use it without owning it, or rename the stack",
                ));
            }
            Ok(role.map(|r| r.arn().to_string()))
        }
        Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(cloud(&t.id, "GetRole", e)),
    }
}

impl Owned for IamRole {
    type Props = Props;
    const LABEL: &'static str = "IAM role";
    const REPLACE_ON: &'static [&'static str] = &["role_name", "trust_service"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        // Both at once: a role that is gone fails the second as well, which then says nothing.
        let (role, policies) = tokio::join!(
            c.iam.get_role().role_name(&e.physical_id).send(),
            attached(c, id, &e.physical_id)
        );
        let Some(role) = found(role, NOT_FOUND, id, "GetRole")? else {
            return Ok(None);
        };
        let policies: Vec<Json> = policies?.into_iter().map(Json::from).collect();
        Ok(Some(super::props::outputs(&[
            ("role_name", json!(role.role().map(|r| r.role_name()))),
            (
                "managed_policy_arns",
                ordered_like(policies, e.props.get("managed_policy_arns")),
            ),
        ])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.role_name.as_str();
        // Discovery found none of ours: create at once; a role of that name (someone
        // else's) makes IAM refuse, and is looked at then.
        let earlier = if t.absent {
            None
        } else {
            existing(c, t, name).await?
        };
        let (arn, fresh) = match earlier {
            Some(arn) => (arn, false),
            None => {
                let tags: Vec<Tag> = super::tags_for(t)
                    .into_iter()
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
                let made = c
                    .iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust(&super::partition::service_principal(
                        p.trust_service.as_str(),
                        super::partition::of_region(&c.region),
                    )))
                    .description(format!("Created by provision for stack {}", t.stack))
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "CreateRole", e));
                match made {
                    Ok(out) => (
                        out.role().map(|r| r.arn().to_string()).unwrap_or_default(),
                        true,
                    ),
                    Err(e) if t.absent && e.code.as_deref() == Some("EntityAlreadyExists") => {
                        (existing(c, t, name).await?.ok_or(e)?, false)
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        t.record
            .created(name, &[("arn", json!(arn)), ("name", json!(name))])
            .await?;
        // A new role has no policies attached: nothing to read first.
        let have = if fresh { Some(Vec::new()) } else { None };
        converge_policies(c, t, name, &p.managed_policy_arns.clone(), have).await?;
        applied(name, &[("arn", json!(arn)), ("name", json!(name))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        converge_policies(c, t, &e.physical_id, &p.managed_policy_arns.clone(), None).await?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let name = &e.physical_id;
        // What the stack attached is in its props: detached at once and the role deleted,
        // no lists first. If IAM still refuses (a policy attached by hand, an inline policy
        // or an instance profile left by a run that stopped halfway), the role is read.
        let ours: Vec<String> = e
            .props
            .get("managed_policy_arns")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if !ours.is_empty() {
            detach(c, t, name, &ours).await?;
            match c.iam.delete_role().role_name(name).send().await {
                Err(err) if is_code(&err, &["DeleteConflict"]) => {}
                other => return gone(other, NOT_FOUND, &t.id, "DeleteRole"),
            }
        }
        // IAM refuses to delete a role that still has policies (managed or inline: a run
        // that stopped halfway may have left one) or sits in an instance profile. The three
        // lists, then the three kinds of removal, each all at once.
        let lists = tokio::try_join!(
            attached(c, &t.id, name),
            async {
                c.iam
                    .list_role_policies()
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|err| cloud(&t.id, "ListRolePolicies", err))
            },
            async {
                c.iam
                    .list_instance_profiles_for_role()
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|err| cloud(&t.id, "ListInstanceProfilesForRole", err))
            }
        );
        let (policies, inline, profiles) = match lists {
            Ok(l) => l,
            Err(err) if err.code.as_deref() == Some("NoSuchEntity") => return Ok(()),
            Err(err) => return Err(err),
        };
        let delete_inline = inline.policy_names().iter().map(|policy| async move {
            c.iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| cloud(&t.id, "DeleteRolePolicy", err))
        });
        let leave = profiles.instance_profiles().iter().map(|ip| async move {
            c.iam
                .remove_role_from_instance_profile()
                .instance_profile_name(ip.instance_profile_name())
                .role_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| cloud(&t.id, "RemoveRoleFromInstanceProfile", err))
        });
        tokio::try_join!(
            detach(c, t, name, &policies),
            futures_util::future::try_join_all(delete_inline),
            futures_util::future::try_join_all(leave)
        )?;
        gone(
            c.iam.delete_role().role_name(name).send().await,
            NOT_FOUND,
            &t.id,
            "DeleteRole",
        )
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

    /// ListRoles returns no tags: the stack's role names are confirmed by their tags.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        let mut pages = c.iam.list_roles().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "ListRoles", e))?;
            for r in page.roles() {
                if !r.role_name().starts_with(&format!("{stack}-")) {
                    continue;
                }
                let tags = c
                    .iam
                    .list_role_tags()
                    .role_name(r.role_name())
                    .send()
                    .await
                    .map_err(|e| cloud(stack, "ListRoleTags", e))?;
                let tags = iam_pairs(tags.tags());
                out.extend(
                    super::found_in(&tags, stack, Some(r.role_name())).map(|f| {
                        f.with(&[("arn", json!(r.arn())), ("name", json!(r.role_name()))])
                    }),
                );
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
