//! A listener rule: requests for a service's host names or paths go to its target group.
//! Priorities come from the order of the services in the stack file, so they are the same
//! from run to run.

use super::error::{cloud, found, own};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::load_balancer::{elb_tags, owned_arn};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, HostHeaderConditionConfig, PathPatternConditionConfig, Rule as SdkRule,
    RuleCondition, RulePriorityPair,
};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// Listener rule.
pub struct ListenerRule;

crate::props! {
    for ListenerRule;
    pub struct Props / Desired {
        pub listener_arn: String,
        pub priority: i64,
        pub paths: Vec<String>,
        pub hosts: Vec<String>,
        pub target_group_arn: String,
        /// Where the service answers: shown by `outputs`.
        pub url: String,
    }
}

const NOT_FOUND: &[&str] = &["RuleNotFound", "ListenerNotFound"];

async fn describe(c: &Clients, id: &str, arn: &str) -> Result<Option<SdkRule>, CloudError> {
    let got = c.elb.describe_rules().rule_arns(arn).send().await;
    Ok(found(got, NOT_FOUND, id, "DescribeRules")?.and_then(|o| o.rules().first().cloned()))
}

fn conditions(p: &Props) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    if !p.hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(p.hosts.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !p.paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(p.paths.clone()))
                        .build(),
                )
                .build(),
        );
    }
    out
}

fn forward(p: &Props) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(p.target_group_arn.as_str())
        .build()
}

/// The values of a rule's condition on `field`.
fn values(r: &SdkRule, field: &str) -> Vec<Json> {
    r.conditions()
        .iter()
        .filter(|c| c.field() == Some(field))
        .flat_map(|c| {
            let v: Vec<String> = match field {
                "host-header" => c
                    .host_header_config()
                    .map(|h| h.values().to_vec())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec()),
                _ => c
                    .path_pattern_config()
                    .map(|h| h.values().to_vec())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec()),
            };
            v.into_iter().map(|s| json!(s))
        })
        .collect()
}

impl Owned for ListenerRule {
    type Props = Props;
    const LABEL: &'static str = "listener rule";
    const REPLACE_ON: &'static [&'static str] = &["listener_arn"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(c: &Clients, id: &str, e: &Entry) -> Result<Option<Fields>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|r| {
            let target = r
                .actions()
                .iter()
                .find_map(|a| a.target_group_arn())
                .map(str::to_string);
            super::props::outputs(&[
                (
                    "priority",
                    json!(r.priority().and_then(|p| p.parse::<i64>().ok())),
                ),
                ("paths", json!(values(&r, "path-pattern"))),
                ("hosts", json!(values(&r, "host-header"))),
                ("target_group_arn", json!(target)),
            ])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        // A crashed run's rule at the same priority is this one, if it carries our tags.
        let existing = c
            .elb
            .describe_rules()
            .listener_arn(p.listener_arn.as_str())
            .send()
            .await
            .map_err(|e| cloud(&t.id, "DescribeRules", e))?;
        let wanted = p.priority.to_string();
        if let Some(r) = existing
            .rules()
            .iter()
            .find(|r| r.priority() == Some(wanted.as_str()))
        {
            let arn = r.rule_arn().unwrap_or_default().to_string();
            if !owned_arn(c, t, &arn).await? {
                return Err(own(
                    &t.id,
                    "CreateRule",
                    format!(
                        "the listener already has a rule at priority {wanted} that the stack did not create"
                    ),
                    "delete that rule, or leave the listener to provision",
                ));
            }
            return applied(&arn, &[("arn", json!(arn)), ("url", json!(p.url))]);
        }
        let made = c
            .elb
            .create_rule()
            .listener_arn(p.listener_arn.as_str())
            .priority(p.priority as i32)
            .set_conditions(Some(conditions(p)))
            .actions(forward(p))
            .set_tags(Some(elb_tags(t)))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateRule", e))?;
        let arn = made
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .ok_or_else(|| {
                own(
                    &t.id,
                    "CreateRule",
                    "AWS returned no rule",
                    "run the command again",
                )
            })?;
        applied(arn, &[("arn", json!(arn)), ("url", json!(p.url))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let now = describe(c, &t.id, &e.physical_id).await?;
        if now.as_ref().and_then(|r| r.priority()) != Some(p.priority.to_string().as_str()) {
            c.elb
                .set_rule_priorities()
                .rule_priorities(
                    RulePriorityPair::builder()
                        .rule_arn(&e.physical_id)
                        .priority(p.priority as i32)
                        .build(),
                )
                .send()
                .await
                .map_err(|err| cloud(&t.id, "SetRulePriorities", err))?;
        }
        c.elb
            .modify_rule()
            .rule_arn(&e.physical_id)
            .set_conditions(Some(conditions(p)))
            .actions(forward(p))
            .send()
            .await
            .map_err(|err| cloud(&t.id, "ModifyRule", err))?;
        applied(
            &e.physical_id,
            &[("arn", json!(e.physical_id)), ("url", json!(p.url))],
        )
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let r = c.elb.delete_rule().rule_arn(&e.physical_id).send().await;
        super::error::gone(r, NOT_FOUND, &t.id, "DeleteRule")
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

    /// Through the stack's listeners: rules cannot be listed by tag.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        for l in super::discovered::<super::listener::Listener>(c, stack).await? {
            let got = c
                .elb
                .describe_rules()
                .listener_arn(&l.physical_id)
                .send()
                .await
                .map_err(|e| cloud(stack, "DescribeRules", e))?;
            let arns: Vec<String> = got
                .rules()
                .iter()
                .filter(|r| !r.is_default().unwrap_or(false))
                .filter_map(|r| r.rule_arn().map(str::to_string))
                .collect();
            out.extend(super::load_balancer::found_by_arn(c, stack, &arns).await?);
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
