//! The Auto Scaling group of container instances. Deleting it terminates its instances,
//! and the cluster can go only once they are gone, so deletion waits for that.

use super::error::cloud;
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::{applied, ordered_like};
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_autoscaling::types::{
    AutoScalingGroup as SdkAutoScalingGroup, LaunchTemplateSpecification, Tag,
};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Auto Scaling group.
pub struct AutoScalingGroup;

crate::props! {
    for AutoScalingGroup;
    pub struct Props / Desired {
        pub name: String,
        pub launch_template_id: String,
        pub min_size: i64,
        pub max_size: i64,
        pub desired_capacity: i64,
        pub subnet_ids: Vec<String>,
    }
}

async fn describe(
    c: &Clients,
    id: &str,
    name: &str,
) -> Result<Option<SdkAutoScalingGroup>, CloudError> {
    let out = c
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeAutoScalingGroups", e))?;
    Ok(out.auto_scaling_groups().first().cloned())
}

fn template(p: &Props) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id(p.launch_template_id.as_str())
        .version("$Default")
        .build()
}

/// How long IAM may take to make a new instance profile usable by Auto Scaling.
const PROFILE_SPREAD: Duration = Duration::from_secs(180);

/// Auto Scaling's refusal of an instance profile IAM has not spread yet
/// (terraform-provider-aws #29866): it exists, it is just not visible there yet.
fn profile_not_spread(e: &CloudError) -> bool {
    e.code.as_deref() == Some("ValidationError")
        && e.message.contains("Invalid IAM Instance Profile")
}

impl Owned for AutoScalingGroup {
    type Props = Props;
    const LABEL: &'static str = "Auto Scaling group";
    const REPLACE_ON: &'static [&'static str] = &["name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let Some(g) = describe(c, id, &e.physical_id).await? else {
            return Ok(None);
        };
        if g.status().is_some_and(|s| s.contains("Delete")) {
            return Ok(None);
        }
        let subnets: Vec<Json> = g
            .vpc_zone_identifier()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| json!(s))
            .collect();
        Ok(Some(super::props::outputs(&[
            ("min_size", json!(g.min_size())),
            ("max_size", json!(g.max_size())),
            ("desired_capacity", json!(g.desired_capacity())),
            (
                "subnet_ids",
                ordered_like(subnets, e.props.get("subnet_ids")),
            ),
            (
                "launch_template_id",
                json!(g.launch_template().and_then(|l| l.launch_template_id())),
            ),
        ])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        match describe(c, &t.id, name).await? {
            Some(g) => {
                let tags = crate::tag_pairs!(g.tags());
                if !super::owned_by(&tags, t) {
                    return Err(foreign(
                        t,
                        "CreateAutoScalingGroup",
                        format!("an Auto Scaling group named {name}"),
                        "rename the stack, or delete the group if it is unused",
                    ));
                }
            }
            None => {
                let tags: Vec<Tag> = super::tags_for(t)
                    .into_iter()
                    .map(|(k, v)| {
                        Tag::builder()
                            .key(k)
                            .value(v)
                            .propagate_at_launch(true)
                            .resource_id(name)
                            .resource_type("auto-scaling-group")
                            .build()
                    })
                    .collect();
                // A new instance profile reaches Auto Scaling minutes after IAM made it.
                wait::until(
                    t,
                    "CreateAutoScalingGroup",
                    Budget::release(PROFILE_SPREAD),
                    || async {
                        let sent = c
                            .autoscaling
                            .create_auto_scaling_group()
                            .auto_scaling_group_name(name)
                            .launch_template(template(p))
                            .min_size(p.min_size as i32)
                            .max_size(p.max_size as i32)
                            .desired_capacity(p.desired_capacity as i32)
                            .vpc_zone_identifier(p.subnet_ids.clone().join(","))
                            .set_tags(Some(tags.clone()))
                            .send()
                            .await
                            .map_err(|e| cloud(&t.id, "CreateAutoScalingGroup", e));
                        Ok(match sent {
                            Ok(_) => Poll::Ready(()),
                            Err(e) if profile_not_spread(&e) => Poll::Spreading(e),
                            Err(e) => Poll::Failed(e),
                        })
                    },
                )
                .await?;
            }
        }
        let arn = describe(c, &t.id, name)
            .await?
            .and_then(|g| g.auto_scaling_group_arn().map(str::to_string))
            .unwrap_or_default();
        applied(name, &[("arn", json!(arn)), ("name", json!(name))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        c.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(&e.physical_id)
            .launch_template(template(p))
            .min_size(p.min_size as i32)
            .max_size(p.max_size as i32)
            .desired_capacity(p.desired_capacity as i32)
            .vpc_zone_identifier(p.subnet_ids.clone().join(","))
            .send()
            .await
            .map_err(|err| cloud(&t.id, "UpdateAutoScalingGroup", err))?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        if describe(c, &t.id, &e.physical_id).await?.is_none() {
            return Ok(());
        }
        // Force: terminate the instances too, without waiting for scale-in.
        c.autoscaling
            .delete_auto_scaling_group()
            .auto_scaling_group_name(&e.physical_id)
            .force_delete(true)
            .send()
            .await
            .map_err(|err| cloud(&t.id, "DeleteAutoScalingGroup", err))?;
        let budget = Budget::new(
            Duration::from_secs(900),
            Duration::from_millis(500),
            Duration::from_secs(15),
        );
        wait::until(t, "DeleteAutoScalingGroup", budget, || async {
            Ok(match describe(c, &t.id, &e.physical_id).await? {
                Some(g) => Poll::Pending(format!(
                    "waiting for {} instances to terminate",
                    g.instances().len()
                )),
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
        let mut pages = c
            .autoscaling
            .describe_auto_scaling_groups()
            .filters(
                aws_sdk_autoscaling::types::Filter::builder()
                    .name(format!("tag:{}", super::TAG_STACK))
                    .values(stack)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "DescribeAutoScalingGroups", e))?;
            for g in page.auto_scaling_groups() {
                let tags = crate::tag_pairs!(g.tags());
                out.extend(
                    super::found_in(&tags, stack, g.auto_scaling_group_name()).map(|f| {
                        f.with(&[
                            ("arn", json!(g.auto_scaling_group_arn())),
                            ("name", json!(g.auto_scaling_group_name())),
                        ])
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
