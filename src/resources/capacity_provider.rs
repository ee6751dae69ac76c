//! The capacity provider that gives the cluster the Auto Scaling group's instances.

use super::ecs_cluster::{ecs_tags, tags_of};
use super::error::{cloud, own};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::applied;
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, CapacityProvider as SdkCapacityProvider, ManagedScaling,
    ManagedScalingStatus, ManagedTerminationProtection,
};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Capacity provider.
pub struct CapacityProvider;

crate::props! {
    for CapacityProvider;
    pub struct Props / Desired {
        pub name: String,
        pub auto_scaling_group_arn: String,
    }
}

async fn describe(
    c: &Clients,
    id: &str,
    name: &str,
) -> Result<Option<SdkCapacityProvider>, CloudError> {
    let out = c
        .ecs
        .describe_capacity_providers()
        .capacity_providers(name)
        .include(aws_sdk_ecs::types::CapacityProviderField::Tags)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeCapacityProviders", e))?;
    Ok(out.capacity_providers().iter().find(|cp| live(cp)).cloned())
}

/// Not deleted: a deleted capacity provider stays listed, INACTIVE, for a while.
fn live(cp: &SdkCapacityProvider) -> bool {
    cp.status().is_some_and(|s| s.as_str() != "INACTIVE")
}

/// Polls until the capacity provider is ACTIVE: only then may a cluster use it.
async fn wait_active(
    c: &Clients,
    t: &Target,
    name: &str,
) -> Result<SdkCapacityProvider, CloudError> {
    let budget = Budget::new(
        Duration::from_secs(300),
        Duration::from_millis(500),
        Duration::from_secs(5),
    )
    .saying("not ACTIVE");
    wait::until(t, "waiting for the capacity provider", budget, || async {
        Ok(match describe(c, &t.id, name).await? {
            Some(cp) if cp.status().map(|s| s.as_str()) == Some("ACTIVE") => Poll::Ready(cp),
            Some(cp) => Poll::Pending(format!(
                "capacity provider {}; a cluster can use it only once ACTIVE",
                cp.status().map(|s| s.as_str()).unwrap_or("?")
            )),
            None => Poll::Failed(own(
                &t.id,
                "waiting for the capacity provider",
                "it disappeared while being made",
                "run `provision up` again",
            )),
        })
    })
    .await
}

impl Owned for CapacityProvider {
    type Props = Props;
    const LABEL: &'static str = "capacity provider";
    const REPLACE_ON: &'static [&'static str] = &["name", "auto_scaling_group_arn"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|cp| {
            let asg = cp
                .auto_scaling_group_provider()
                .map(|a| a.auto_scaling_group_arn());
            super::props::outputs(&[("auto_scaling_group_arn", json!(asg))])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        let cp = match describe(c, &t.id, name).await? {
            Some(cp) if super::owned_by(&tags_of(cp.tags()), t) => cp,
            Some(_) => {
                return Err(foreign(
                    t,
                    "CreateCapacityProvider",
                    format!("a capacity provider named {name}"),
                    "rename the stack",
                ));
            }
            None => {
                // Scaling stays with the group's own min/max/desired from the stack file.
                let provider = AutoScalingGroupProvider::builder()
                    .auto_scaling_group_arn(p.auto_scaling_group_arn.as_str())
                    .managed_scaling(
                        ManagedScaling::builder()
                            .status(ManagedScalingStatus::Disabled)
                            .build(),
                    )
                    .managed_termination_protection(ManagedTerminationProtection::Disabled)
                    .build()
                    .map_err(|e| {
                        own(
                            &t.id,
                            "build capacity provider",
                            e.to_string(),
                            "this is a bug in provision",
                        )
                    })?;
                c.ecs
                    .create_capacity_provider()
                    .name(name)
                    .auto_scaling_group_provider(provider)
                    .set_tags(Some(ecs_tags(t)))
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "CreateCapacityProvider", e))?
                    .capacity_provider()
                    .cloned()
                    .ok_or_else(|| {
                        own(
                            &t.id,
                            "CreateCapacityProvider",
                            "AWS returned no capacity provider",
                            "run the command again",
                        )
                    })?
            }
        };
        let cp = if cp.status().map(|s| s.as_str()) == Some("ACTIVE") {
            cp
        } else {
            let arn = cp.capacity_provider_arn().unwrap_or_default();
            t.record
                .created(name, &[("arn", json!(arn)), ("name", json!(name))])
                .await?;
            wait_active(c, t, name).await?
        };
        let arn = cp.capacity_provider_arn().unwrap_or_default();
        applied(name, &[("arn", json!(arn)), ("name", json!(name))])
    }

    async fn update(
        _c: &Clients,
        _t: &Target,
        e: &Entry,
        _p: &Props,
    ) -> Result<Applied, CloudError> {
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        // "Not found" and "in use" are both ClientException here: look first, then delete,
        // so that a refusal is never taken for success.
        if describe(c, &t.id, &e.physical_id).await?.is_none() {
            return Ok(());
        }
        c.ecs
            .delete_capacity_provider()
            .capacity_provider(&e.physical_id)
            .send()
            .await
            .map_err(|err| cloud(&t.id, "DeleteCapacityProvider", err))?;
        // The group can be deleted only once no capacity provider uses it.
        let budget = Budget::new(
            Duration::from_secs(300),
            Duration::from_millis(500),
            Duration::from_secs(5),
        );
        wait::until(t, "DeleteCapacityProvider", budget, || async {
            Ok(match describe(c, &t.id, &e.physical_id).await? {
                Some(_) => Poll::Pending("waiting for the capacity provider to go".into()),
                None => Poll::Ready(()),
            })
        })
        .await
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

    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = c
                .ecs
                .describe_capacity_providers()
                .include(aws_sdk_ecs::types::CapacityProviderField::Tags)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| cloud(stack, "DescribeCapacityProviders", e))?;
            for cp in page.capacity_providers().iter().filter(|cp| live(cp)) {
                out.extend(
                    super::found_in(&tags_of(cp.tags()), stack, cp.name()).map(|f| {
                        f.with(&[
                            ("arn", json!(cp.capacity_provider_arn())),
                            ("name", json!(cp.name())),
                        ])
                    }),
                );
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
