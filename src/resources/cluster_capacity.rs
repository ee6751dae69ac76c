//! Which capacity providers a cluster offers, and its default strategy. Deleting this
//! detaches them, which ECS requires before the capacity provider can be deleted.

use super::error::{cloud, is_code};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::CapacityProviderStrategyItem;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Cluster capacity providers.
pub struct ClusterCapacityProviders;

crate::props! {
    for ClusterCapacityProviders;
    pub struct Props / Desired {
        pub cluster: String,
        pub capacity_providers: Vec<String>,
    }
}

async fn put(
    c: &Clients,
    t: &Target,
    cluster: &str,
    providers: Vec<String>,
) -> Result<(), CloudError> {
    let strategy = providers
        .iter()
        .map(|p| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(p)
                .weight(1)
                .build()
                .map_err(|e| {
                    super::error::own(
                        &t.id,
                        "build strategy",
                        e.to_string(),
                        "this is a bug in provision",
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match c
        .ecs
        .put_cluster_capacity_providers()
        .cluster(cluster)
        .set_capacity_providers(Some(providers))
        .set_default_capacity_provider_strategy(Some(strategy))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["ClusterNotFoundException"]) => Ok(()),
        Err(e) => Err(cloud(&t.id, "PutClusterCapacityProviders", e)),
    }
}

impl Owned for ClusterCapacityProviders {
    type Props = Props;
    const LABEL: &'static str = "cluster capacity providers";
    const REPLACE_ON: &'static [&'static str] = &["cluster"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let out = c
            .ecs
            .describe_clusters()
            .clusters(&e.physical_id)
            .send()
            .await
            .map_err(|err| cloud(id, "DescribeClusters", err))?;
        let Some(cl) = out.clusters().iter().find(|c| c.status() == Some("ACTIVE")) else {
            return Ok(None);
        };
        Ok(Some(super::props::outputs(&[(
            "capacity_providers",
            json!(cl.capacity_providers()),
        )])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let cluster = p.cluster.as_str();
        put(c, t, cluster, p.capacity_providers.clone()).await?;
        applied(cluster, &[("cluster", json!(cluster))])
    }

    async fn update(c: &Clients, t: &Target, _e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        Self::create(c, t, p).await
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        put(c, t, &e.physical_id, Vec::new()).await
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

    /// Recorded under the cluster's name, for an owned cluster that offers capacity providers.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        Ok(super::ecs_cluster::owned_clusters(c, stack)
            .await?
            .iter()
            .filter(|cl| !cl.capacity_providers().is_empty())
            .filter_map(|cl| {
                let name = cl.cluster_name()?;
                Some(
                    Found {
                        id: "cluster_capacity_providers".into(),
                        physical_id: name.to_string(),
                        outputs: Default::default(),
                    }
                    .with(&[("cluster", json!(name))]),
                )
            })
            .collect())
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
