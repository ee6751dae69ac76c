//! Application Auto Scaling's hold on a service's desired count, between `min` and `max`.
//! Deregistering it deletes its scaling policies too. Found again through the stack's
//! services: its resource id is `service/<cluster>/<service>`.

use super::error::cloud;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalableTarget as SdkScalableTarget, ServiceNamespace,
};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// Scalable target.
pub struct ScalableTarget;

crate::props! {
    for ScalableTarget;
    pub struct Props / Desired {
        /// `service/<cluster>/<service>`.
        pub resource_id: String,
        pub min: i64,
        pub max: i64,
    }
}

pub(super) const DIMENSION: ScalableDimension = ScalableDimension::EcsServiceDesiredCount;

async fn describe(
    c: &Clients,
    id: &str,
    resource_id: &str,
) -> Result<Option<SdkScalableTarget>, CloudError> {
    let got = c
        .scaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(resource_id)
        .scalable_dimension(DIMENSION)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeScalableTargets", e))?;
    Ok(got.scalable_targets().first().cloned())
}

async fn register(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
    let tags = super::tags_for(t).into_iter().collect();
    let out = c
        .scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(p.resource_id.as_str())
        .scalable_dimension(DIMENSION)
        .min_capacity(p.min as i32)
        .max_capacity(p.max as i32)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| cloud(&t.id, "RegisterScalableTarget", e))?;
    applied(
        &p.resource_id,
        &[
            ("arn", json!(out.scalable_target_arn())),
            ("resource_id", json!(p.resource_id)),
        ],
    )
}

impl Owned for ScalableTarget {
    type Props = Props;
    const LABEL: &'static str = "scalable target";
    const REPLACE_ON: &'static [&'static str] = &["resource_id"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(c: &Clients, id: &str, e: &Entry) -> Result<Option<Fields>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|s| {
            super::props::outputs(&[
                ("resource_id", json!(s.resource_id())),
                ("min", json!(s.min_capacity())),
                ("max", json!(s.max_capacity())),
            ])
        }))
    }

    /// RegisterScalableTarget makes or updates: a re-run after a crash is the same call.
    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        register(c, t, p).await
    }

    async fn update(c: &Clients, t: &Target, _e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        register(c, t, p).await
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let r = c
            .scaling
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&e.physical_id)
            .scalable_dimension(DIMENSION)
            .send()
            .await;
        super::error::gone(
            r,
            &["ObjectNotFoundException"],
            &t.id,
            "DeregisterScalableTarget",
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

    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        for svc in super::discovered::<super::ecs_service::EcsService>(c, stack).await? {
            let (Some(cluster), Some(name)) = (
                svc.outputs.get("cluster").and_then(Json::as_str),
                svc.outputs.get("name").and_then(Json::as_str),
            ) else {
                continue;
            };
            let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
            let rid = format!("service/{cluster}/{name}");
            if let Some(target) = describe(c, stack, &rid).await? {
                let service = svc.id.strip_prefix("ecs_service.").unwrap_or(&svc.id);
                out.push(
                    Found {
                        id: format!("scalable_target.{service}"),
                        physical_id: rid.clone(),
                        outputs: Default::default(),
                    }
                    .with(&[
                        ("arn", json!(target.scalable_target_arn())),
                        ("resource_id", json!(rid)),
                    ]),
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
