//! A service's target group: where the load balancer sends its requests, and the health
//! check that decides whether a task gets them. ECS registers the tasks itself.

use super::error::{cloud, found, own};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::load_balancer::{elb_tags, owned_arn, tags_of};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup as SdkTargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use serde_json::json;
use std::time::Duration;

/// Target group.
pub struct TargetGroup;

crate::props! {
    for TargetGroup;
    pub struct Props / Desired {
        pub name: String,
        pub vpc_id: String,
        pub port: i64,
        /// `ip` for awsvpc tasks, `instance` for bridge-mode tasks on EC2 instances.
        pub target_type: String,
        pub health_check_path: String,
        pub healthy_codes: String,
        pub health_check_interval: i64,
        pub healthy_threshold: i64,
        pub unhealthy_threshold: i64,
        pub deregistration_delay: i64,
    }
}

const NOT_FOUND: &[&str] = &["TargetGroupNotFound"];

async fn describe(c: &Clients, id: &str, name: &str) -> Result<Option<SdkTargetGroup>, CloudError> {
    let got = c.elb.describe_target_groups().names(name).send().await;
    Ok(found(got, NOT_FOUND, id, "DescribeTargetGroups")?
        .and_then(|o| o.target_groups().first().cloned()))
}

/// `targetgroup/<name>/<id>`: how CloudWatch and Auto Scaling name the group.
fn arn_suffix(arn: &str) -> String {
    arn.rsplit_once(':')
        .map(|(_, s)| s.to_string())
        .unwrap_or_default()
}

fn outputs(g: &SdkTargetGroup) -> Result<Applied, CloudError> {
    let arn = g.target_group_arn().unwrap_or_default();
    applied(
        g.target_group_name().unwrap_or_default(),
        &[
            ("arn", json!(arn)),
            ("arn_suffix", json!(arn_suffix(arn))),
            ("name", json!(g.target_group_name())),
        ],
    )
}

async fn set_deregistration_delay(
    c: &Clients,
    t: &Target,
    arn: &str,
    seconds: i64,
) -> Result<(), CloudError> {
    c.elb
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value(seconds.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(|e| cloud(&t.id, "ModifyTargetGroupAttributes", e))?;
    Ok(())
}

/// The group's deregistration delay in seconds, as AWS reports it.
async fn deregistration_delay(c: &Clients, id: &str, arn: &str) -> Result<Option<i64>, CloudError> {
    let got = c
        .elb
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeTargetGroupAttributes", e))?;
    Ok(got
        .attributes()
        .iter()
        .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|a| a.value())
        .and_then(|v| v.parse().ok()))
}

impl Owned for TargetGroup {
    type Props = Props;
    const LABEL: &'static str = "target group";
    const REPLACE_ON: &'static [&'static str] = &["name", "vpc_id", "port", "target_type"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(c: &Clients, id: &str, e: &Entry) -> Result<Option<Fields>, CloudError> {
        let Some(g) = describe(c, id, &e.physical_id).await? else {
            return Ok(None);
        };
        let delay = deregistration_delay(c, id, g.target_group_arn().unwrap_or_default()).await?;
        Ok(Some(super::props::outputs(&[
            ("name", json!(g.target_group_name())),
            ("vpc_id", json!(g.vpc_id())),
            ("port", json!(g.port())),
            (
                "target_type",
                json!(g.target_type().map(|t| t.as_str().to_string())),
            ),
            ("health_check_path", json!(g.health_check_path())),
            (
                "healthy_codes",
                json!(g.matcher().and_then(|m| m.http_code())),
            ),
            (
                "health_check_interval",
                json!(g.health_check_interval_seconds()),
            ),
            ("healthy_threshold", json!(g.healthy_threshold_count())),
            ("unhealthy_threshold", json!(g.unhealthy_threshold_count())),
            ("deregistration_delay", json!(delay)),
        ])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        let g = match describe(c, &t.id, name).await? {
            Some(g) => {
                let arn = g.target_group_arn().unwrap_or_default().to_string();
                if !owned_arn(c, t, &arn).await? {
                    return Err(foreign(
                        t,
                        "CreateTargetGroup",
                        format!("a target group named {name}"),
                        "rename the stack or the service",
                    ));
                }
                g
            }
            None => {
                let made = c
                    .elb
                    .create_target_group()
                    .name(name)
                    .protocol(ProtocolEnum::Http)
                    .port(p.port as i32)
                    .vpc_id(p.vpc_id.as_str())
                    .target_type(TargetTypeEnum::from(p.target_type.as_str()))
                    .health_check_path(p.health_check_path.as_str())
                    .matcher(
                        Matcher::builder()
                            .http_code(p.healthy_codes.as_str())
                            .build(),
                    )
                    .health_check_interval_seconds(p.health_check_interval as i32)
                    .healthy_threshold_count(p.healthy_threshold as i32)
                    .unhealthy_threshold_count(p.unhealthy_threshold as i32)
                    .set_tags(Some(elb_tags(t)))
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "CreateTargetGroup", e))?;
                made.target_groups().first().cloned().ok_or_else(|| {
                    own(
                        &t.id,
                        "CreateTargetGroup",
                        "AWS returned no target group",
                        "run the command again",
                    )
                })?
            }
        };
        let done = outputs(&g)?;
        // In the state before the follow-up call: a failure there leaves it recorded.
        t.record
            .created(
                &done.physical_id,
                &done
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect::<Vec<_>>(),
            )
            .await?;
        let arn = g.target_group_arn().unwrap_or_default();
        set_deregistration_delay(c, t, arn, p.deregistration_delay).await?;
        Ok(done)
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let g = describe(c, &t.id, &e.physical_id).await?.ok_or_else(|| {
            own(
                &t.id,
                "update",
                "the target group is gone",
                "run `provision up` again to create it",
            )
        })?;
        let arn = g.target_group_arn().unwrap_or_default();
        c.elb
            .modify_target_group()
            .target_group_arn(arn)
            .health_check_path(p.health_check_path.as_str())
            .matcher(
                Matcher::builder()
                    .http_code(p.healthy_codes.as_str())
                    .build(),
            )
            .health_check_interval_seconds(p.health_check_interval as i32)
            .healthy_threshold_count(p.healthy_threshold as i32)
            .unhealthy_threshold_count(p.unhealthy_threshold as i32)
            .send()
            .await
            .map_err(|err| cloud(&t.id, "ModifyTargetGroup", err))?;
        if deregistration_delay(c, &t.id, arn).await? != Some(p.deregistration_delay) {
            set_deregistration_delay(c, t, arn, p.deregistration_delay).await?;
        }
        outputs(&g)
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let Some(g) = describe(c, &t.id, &e.physical_id).await? else {
            return Ok(());
        };
        let arn = g.target_group_arn().unwrap_or_default().to_string();
        // In use until the listener rule pointing at it and the service are gone.
        super::retry::while_in_use::<Self, _, _>(t, "DeleteTargetGroup", || async {
            let r = c
                .elb
                .delete_target_group()
                .target_group_arn(&arn)
                .send()
                .await;
            super::error::gone(r, NOT_FOUND, &t.id, "DeleteTargetGroup")
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
        let mut all = Vec::new();
        let mut pages = c.elb.describe_target_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "DescribeTargetGroups", e))?;
            all.extend(page.target_groups().iter().cloned());
        }
        let arns: Vec<String> = all
            .iter()
            .filter_map(|g| g.target_group_arn().map(str::to_string))
            .collect();
        let tags = tags_of(c, stack, &arns).await?;
        Ok(all
            .iter()
            .filter_map(|g| {
                let t = tags.get(g.target_group_arn()?)?;
                let f = super::found_in(t, stack, g.target_group_name())?;
                Some(Found {
                    outputs: outputs(g).ok()?.outputs,
                    ..f
                })
            })
            .collect())
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, &["ResourceInUse"])
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
