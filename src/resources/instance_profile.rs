//! The instance profile that hands the instance role to the container instances.

use super::error::{cloud, found, gone, is_code, own};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_iam::types::{InstanceProfile as SdkInstanceProfile, Tag};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Instance profile.
pub struct InstanceProfile;

crate::props! {
    for InstanceProfile;
    pub struct Props / Desired {
        pub name: String,
        pub role_name: String,
    }
}

const NOT_FOUND: &[&str] = &["NoSuchEntity"];

async fn get(c: &Clients, id: &str, name: &str) -> Result<Option<SdkInstanceProfile>, CloudError> {
    let got = c
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    Ok(
        found(got, NOT_FOUND, id, "GetInstanceProfile")?
            .and_then(|o| o.instance_profile().cloned()),
    )
}

async fn set_role(
    c: &Clients,
    t: &Target,
    ip: &SdkInstanceProfile,
    role: &str,
) -> Result<(), CloudError> {
    let name = ip.instance_profile_name();
    for r in ip.roles().iter().filter(|r| r.role_name() != role) {
        c.iam
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(r.role_name())
            .send()
            .await
            .map_err(|e| cloud(&t.id, "RemoveRoleFromInstanceProfile", e))?;
    }
    if !ip.roles().iter().any(|r| r.role_name() == role) {
        match c
            .iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(role)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_code(&e, &["LimitExceeded"]) => {}
            Err(e) => return Err(cloud(&t.id, "AddRoleToInstanceProfile", e)),
        }
    }
    Ok(())
}

impl Owned for InstanceProfile {
    type Props = Props;
    const LABEL: &'static str = "instance profile";
    const REPLACE_ON: &'static [&'static str] = &["name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(get(c, id, &e.physical_id).await?.map(|ip| {
            let role = ip.roles().first().map(|r| r.role_name().to_string());
            super::props::outputs(&[("role_name", json!(role))])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        let profile = match get(c, &t.id, name).await? {
            Some(ip) => {
                let tags = super::iam_role::iam_pairs(ip.tags());
                if !super::owned_by(&tags, t) {
                    return Err(foreign(
                        t,
                        "CreateInstanceProfile",
                        format!("an instance profile named {name}"),
                        "rename the stack, or delete the profile if it is unused",
                    ));
                }
                ip
            }
            None => {
                let tags: Vec<Tag> = super::tags_for(t)
                    .into_iter()
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
                c.iam
                    .create_instance_profile()
                    .instance_profile_name(name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "CreateInstanceProfile", e))?
                    .instance_profile()
                    .cloned()
                    .ok_or_else(|| {
                        own(
                            &t.id,
                            "CreateInstanceProfile",
                            "AWS returned no profile",
                            "run the command again",
                        )
                    })?
            }
        };
        let arn = profile.arn().to_string();
        t.record
            .created(name, &[("arn", json!(arn)), ("name", json!(name))])
            .await?;
        set_role(c, t, &profile, p.role_name.as_str()).await?;
        applied(name, &[("arn", json!(arn)), ("name", json!(name))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        if let Some(ip) = get(c, &t.id, &e.physical_id).await? {
            set_role(c, t, &ip, p.role_name.as_str()).await?;
        }
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let Some(ip) = get(c, &t.id, &e.physical_id).await? else {
            return Ok(());
        };
        for r in ip.roles() {
            c.iam
                .remove_role_from_instance_profile()
                .instance_profile_name(&e.physical_id)
                .role_name(r.role_name())
                .send()
                .await
                .map_err(|err| cloud(&t.id, "RemoveRoleFromInstanceProfile", err))?;
        }
        let r = c
            .iam
            .delete_instance_profile()
            .instance_profile_name(&e.physical_id)
            .send()
            .await;
        gone(r, NOT_FOUND, &t.id, "DeleteInstanceProfile")
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

    /// ListInstanceProfiles returns no tags: the stack's names are confirmed by their tags
    /// (GetInstanceProfile has them).
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        let mut pages = c.iam.list_instance_profiles().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "ListInstanceProfiles", e))?;
            for p in page.instance_profiles() {
                let name = p.instance_profile_name();
                if !name.starts_with(&format!("{stack}-")) {
                    continue;
                }
                // ListInstanceProfiles returns no tags; GetInstanceProfile does.
                let tags = get(c, stack, name)
                    .await?
                    .map(|ip| super::iam_role::iam_pairs(ip.tags()))
                    .unwrap_or_default();
                out.extend(
                    super::found_in(&tags, stack, Some(name))
                        .map(|f| f.with(&[("arn", json!(p.arn())), ("name", json!(name))])),
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
