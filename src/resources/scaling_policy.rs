//! A target-tracking scaling policy on a service: average CPU, average memory, or requests
//! per target of its load balancer's target group, held near a target value.

use super::error::{cloud, own};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::applied;
use super::scalable_target::DIMENSION;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalingPolicy as SdkScalingPolicy,
    ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// Scaling policy.
pub struct ScalingPolicy;

crate::props! {
    for ScalingPolicy;
    pub struct Props / Desired {
        pub name: String,
        pub resource_id: String,
        /// `cpu`, `memory` or `requests`.
        pub metric: String,
        /// Percent for cpu and memory; requests per task per minute for requests.
        pub target: i64,
        /// For `requests`: `app/<lb>/<id>/targetgroup/<tg>/<id>`.
        pub resource_label: Option<String>,
    }
}

/// The metrics a policy can track, as the stack file names them.
pub const METRICS: &[&str] = &["cpu", "memory", "requests"];

fn metric_type(m: &str) -> MetricType {
    match m {
        "memory" => MetricType::EcsServiceAverageMemoryUtilization,
        "requests" => MetricType::AlbRequestCountPerTarget,
        _ => MetricType::EcsServiceAverageCpuUtilization,
    }
}

async fn describe(
    c: &Clients,
    id: &str,
    resource_id: &str,
    name: &str,
) -> Result<Option<SdkScalingPolicy>, CloudError> {
    let got = c
        .scaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .policy_names(name)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeScalingPolicies", e))?;
    Ok(got.scaling_policies().first().cloned())
}

async fn put(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
    let spec = PredefinedMetricSpecification::builder()
        .predefined_metric_type(metric_type(&p.metric))
        .set_resource_label(p.resource_label.clone())
        .build()
        .map_err(|e| {
            own(
                &t.id,
                "PutScalingPolicy",
                e.to_string(),
                "this is a bug in provision",
            )
        })?;
    let config = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(p.target as f64)
        .predefined_metric_specification(spec)
        .build()
        .map_err(|e| {
            own(
                &t.id,
                "PutScalingPolicy",
                e.to_string(),
                "this is a bug in provision",
            )
        })?;
    let out = c
        .scaling
        .put_scaling_policy()
        .policy_name(p.name.as_str())
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(p.resource_id.as_str())
        .scalable_dimension(DIMENSION)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(config)
        .send()
        .await
        .map_err(|e| cloud(&t.id, "PutScalingPolicy", e))?;
    applied(
        out.policy_arn(),
        &[
            ("arn", json!(out.policy_arn())),
            ("name", json!(p.name)),
            ("resource_id", json!(p.resource_id)),
        ],
    )
}

/// A field of the recorded policy: from its outputs, which discovery fills too.
fn field<'a>(e: &'a Entry, key: &str) -> &'a str {
    e.outputs
        .get(key)
        .or_else(|| e.props.get(key))
        .and_then(Json::as_str)
        .unwrap_or_default()
}

impl Owned for ScalingPolicy {
    type Props = Props;
    const LABEL: &'static str = "scaling policy";
    const REPLACE_ON: &'static [&'static str] = &["name", "resource_id"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(c: &Clients, id: &str, e: &Entry) -> Result<Option<Fields>, CloudError> {
        let (rid, name) = (field(e, "resource_id"), field(e, "name"));
        Ok(describe(c, id, rid, name).await?.map(|p| {
            let conf = p.target_tracking_scaling_policy_configuration();
            let spec = conf.and_then(|c| c.predefined_metric_specification());
            let metric = spec.map(|s| match s.predefined_metric_type() {
                MetricType::EcsServiceAverageMemoryUtilization => "memory",
                MetricType::AlbRequestCountPerTarget => "requests",
                _ => "cpu",
            });
            super::props::outputs(&[
                ("name", json!(p.policy_name())),
                ("resource_id", json!(p.resource_id())),
                ("metric", json!(metric)),
                (
                    "target",
                    json!(conf.map(|c| c.target_value().round() as i64)),
                ),
                (
                    "resource_label",
                    json!(spec.and_then(|s| s.resource_label())),
                ),
            ])
        }))
    }

    /// PutScalingPolicy makes or updates: a re-run after a crash is the same call.
    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        put(c, t, p).await
    }

    async fn update(c: &Clients, t: &Target, _e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        put(c, t, p).await
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let (rid, name) = (field(e, "resource_id"), field(e, "name"));
        let r = c
            .scaling
            .delete_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(rid)
            .scalable_dimension(DIMENSION)
            .send()
            .await;
        super::error::gone(
            r,
            &["ObjectNotFoundException"],
            &t.id,
            "DeleteScalingPolicy",
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

    /// Policies carry no tags: found through the stack's scalable targets, by the names
    /// the stack gives them (`<stack>-<service>-<metric>`).
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        for target in super::discovered::<super::scalable_target::ScalableTarget>(c, stack).await? {
            let service = target
                .id
                .strip_prefix("scalable_target.")
                .unwrap_or(&target.id);
            for metric in METRICS {
                let name = format!("{stack}-{service}-{metric}");
                if let Some(p) = describe(c, stack, &target.physical_id, &name).await? {
                    let arn = p.policy_arn().to_string();
                    out.push(
                        Found {
                            id: format!("scaling_policy.{service}.{metric}"),
                            physical_id: arn.clone(),
                            outputs: Default::default(),
                        }
                        .with(&[
                            ("arn", json!(arn)),
                            ("name", json!(name)),
                            ("resource_id", json!(target.physical_id)),
                        ]),
                    );
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
