//! The stack's internet-facing Application Load Balancer: the stable address of its web
//! services. Deleting it deletes its listeners and rules with it; its network interfaces
//! leave the subnets and security group some seconds later.

use super::error::{cloud, found, own};
use super::foreign;
use super::kind::{Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs};
use super::props::applied;
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer as SdkLoadBalancer, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Tag,
};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::time::Duration;

/// Application Load Balancer.
pub struct LoadBalancer;

crate::props! {
    for LoadBalancer;
    pub struct Props / Desired {
        pub name: String,
        /// A load balancer stays in its VPC: another VPC means another load balancer.
        pub vpc_id: String,
        pub subnet_ids: Vec<String>,
        pub security_group_ids: Vec<String>,
    }
}

const NOT_FOUND: &[&str] = &["LoadBalancerNotFound"];

async fn describe(
    c: &Clients,
    id: &str,
    name: &str,
) -> Result<Option<SdkLoadBalancer>, CloudError> {
    let got = c.elb.describe_load_balancers().names(name).send().await;
    Ok(found(got, NOT_FOUND, id, "DescribeLoadBalancers")?
        .and_then(|o| o.load_balancers().first().cloned()))
}

/// The stack's tags as ELB takes them.
pub(super) fn elb_tags(t: &Target) -> Vec<Tag> {
    super::tags_for(t)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The tags of each ARN (ELB answers 20 ARNs a call).
pub(super) async fn tags_of(
    c: &Clients,
    id: &str,
    arns: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, CloudError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(20) {
        let got = c
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| cloud(id, "DescribeTags", e))?;
        for d in got.tag_descriptions() {
            out.insert(
                d.resource_arn().unwrap_or_default().to_string(),
                crate::tag_pairs!(d.tags()),
            );
        }
    }
    Ok(out)
}

/// Whether the ELB resource `arn` carries this resource's tags: the one a crashed run made,
/// to adopt, rather than someone else's.
pub(super) async fn owned_arn(c: &Clients, t: &Target, arn: &str) -> Result<bool, CloudError> {
    let arn = arn.to_string();
    let tags = tags_of(c, &t.id, std::slice::from_ref(&arn)).await?;
    Ok(super::owned_by(
        tags.get(&arn).map_or(&[][..], Vec::as_slice),
        t,
    ))
}

/// Those of `arns` that carry `stack`'s tags, as found: listeners and rules, which are
/// recorded by their ARN.
pub(super) async fn found_by_arn(
    c: &Clients,
    stack: &str,
    arns: &[String],
) -> Result<Vec<Found>, CloudError> {
    let tags = tags_of(c, stack, arns).await?;
    Ok(arns
        .iter()
        .filter_map(|arn| {
            super::found_in(tags.get(arn)?, stack, Some(arn))
                .map(|f| f.with(&[("arn", json!(arn))]))
        })
        .collect())
}

/// `app/<name>/<id>`: how CloudWatch and Auto Scaling name the load balancer.
fn arn_suffix(arn: &str) -> String {
    arn.split_once(":loadbalancer/")
        .map(|(_, s)| s.to_string())
        .unwrap_or_default()
}

fn outputs(lb: &SdkLoadBalancer) -> Result<Applied, CloudError> {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    applied(
        lb.load_balancer_name().unwrap_or_default(),
        &[
            ("arn", json!(arn)),
            ("arn_suffix", json!(arn_suffix(arn))),
            ("dns_name", json!(lb.dns_name())),
            ("name", json!(lb.load_balancer_name())),
        ],
    )
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

impl Owned for LoadBalancer {
    type Props = Props;
    const LABEL: &'static str = "load balancer";
    const REPLACE_ON: &'static [&'static str] = &["name", "vpc_id"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(c: &Clients, id: &str, e: &Entry) -> Result<Option<Fields>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|lb| {
            let subnets: Vec<Json> = lb
                .availability_zones()
                .iter()
                .filter_map(|z| z.subnet_id())
                .map(|s| json!(s))
                .collect();
            let groups: Vec<Json> = lb.security_groups().iter().map(|g| json!(g)).collect();
            super::props::outputs(&[
                ("name", json!(lb.load_balancer_name())),
                ("vpc_id", json!(lb.vpc_id())),
                (
                    "subnet_ids",
                    super::props::ordered_like(subnets, e.props.get("subnet_ids")),
                ),
                (
                    "security_group_ids",
                    super::props::ordered_like(groups, e.props.get("security_group_ids")),
                ),
            ])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        if let Some(lb) = describe(c, &t.id, name).await? {
            let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
            if !owned_arn(c, t, &arn).await? {
                return Err(foreign(
                    t,
                    "CreateLoadBalancer",
                    format!("a load balancer named {name}"),
                    "rename the stack, or delete the load balancer if it is unused",
                ));
            }
            return outputs(&lb);
        }
        let made = c
            .elb
            .create_load_balancer()
            .name(name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .set_subnets(Some(p.subnet_ids.clone()))
            .set_security_groups(Some(p.security_group_ids.clone()))
            .set_tags(Some(elb_tags(t)))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateLoadBalancer", e))?;
        let lb = made.load_balancers().first().ok_or_else(|| {
            own(
                &t.id,
                "CreateLoadBalancer",
                "AWS returned no load balancer",
                "run the command again",
            )
        })?;
        outputs(lb)
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let lb = describe(c, &t.id, &e.physical_id).await?.ok_or_else(|| {
            own(
                &t.id,
                "update",
                "the load balancer is gone",
                "run `provision up` again to create it",
            )
        })?;
        let arn = lb.load_balancer_arn().unwrap_or_default();
        let have_groups = sorted(lb.security_groups().to_vec());
        if have_groups != sorted(p.security_group_ids.clone()) {
            c.elb
                .set_security_groups()
                .load_balancer_arn(arn)
                .set_security_groups(Some(p.security_group_ids.clone()))
                .send()
                .await
                .map_err(|err| cloud(&t.id, "SetSecurityGroups", err))?;
        }
        let have_subnets = sorted(
            lb.availability_zones()
                .iter()
                .filter_map(|z| z.subnet_id().map(str::to_string))
                .collect(),
        );
        if have_subnets != sorted(p.subnet_ids.clone()) {
            c.elb
                .set_subnets()
                .load_balancer_arn(arn)
                .set_subnets(Some(p.subnet_ids.clone()))
                .send()
                .await
                .map_err(|err| cloud(&t.id, "SetSubnets", err))?;
        }
        outputs(&lb)
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let Some(lb) = describe(c, &t.id, &e.physical_id).await? else {
            return Ok(());
        };
        c.elb
            .delete_load_balancer()
            .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
            .send()
            .await
            .map_err(|err| cloud(&t.id, "DeleteLoadBalancer", err))?;
        let budget = Budget::new(
            Duration::from_secs(300),
            Duration::from_millis(500),
            Duration::from_secs(5),
        );
        wait::until(t, "DeleteLoadBalancer", budget, || async {
            Ok(match describe(c, &t.id, &e.physical_id).await? {
                Some(_) => Poll::Pending("waiting for the load balancer to go".into()),
                None => Poll::Ready(()),
            })
        })
        .await
    }

    /// Active: it answers at its DNS name.
    async fn wait_ready(
        c: &Clients,
        t: &Target,
        a: &Applied,
        timeout: Duration,
    ) -> Result<(), CloudError> {
        let budget = Budget::long(timeout).saying("not active");
        wait::until(t, "waiting for the load balancer", budget, || async {
            let lb = describe(c, &t.id, &a.physical_id).await?;
            let state = lb
                .as_ref()
                .and_then(|lb| lb.state())
                .and_then(|s| s.code())
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(|| "?".into());
            Ok(match state.as_str() {
                "active" => Poll::Ready(()),
                "failed" | "active_impaired" => Poll::Failed(own(
                    &t.id,
                    "waiting for the load balancer",
                    format!(
                        "the load balancer is {state}: {}",
                        lb.as_ref()
                            .and_then(|lb| lb.state())
                            .and_then(|s| s.reason())
                            .unwrap_or("no reason given")
                    ),
                    "look at the load balancer in the EC2 console",
                )),
                _ => Poll::Pending(format!("load balancer {state}")),
            })
        })
        .await
    }

    async fn live_outputs(_c: &Clients, _id: &str, _e: &Entry) -> Result<Fields, CloudError> {
        no_live_outputs().await
    }

    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut all = Vec::new();
        let mut pages = c.elb.describe_load_balancers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "DescribeLoadBalancers", e))?;
            all.extend(page.load_balancers().iter().cloned());
        }
        let arns: Vec<String> = all
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
            .collect();
        let tags = tags_of(c, stack, &arns).await?;
        Ok(all
            .iter()
            .filter_map(|lb| {
                let t = tags.get(lb.load_balancer_arn()?)?;
                let f = super::found_in(t, stack, lb.load_balancer_name())?;
                Some(Found {
                    outputs: outputs(lb).ok()?.outputs,
                    ..f
                })
            })
            .collect())
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(change: Change, _e: Option<&Entry>) -> Option<String> {
        (change != Change::Update)
            .then(|| "the stack's URL changes: the new load balancer has a new DNS name".into())
    }
}
