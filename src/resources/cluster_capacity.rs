//! Which capacity providers a cluster offers, and its default strategy. Deleting this
//! detaches them, which ECS requires before the capacity provider can be deleted.

use super::error::{cloud, is_code};
use super::props::{applied, list, s};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::CapacityProviderStrategyItem;
use serde_json::{Map, Value as Json, json};

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

pub async fn create(c: &Clients, t: &Target, p: &Json) -> Result<Applied, CloudError> {
    let cluster = s(p, "cluster");
    put(c, t, cluster, list(p, "capacity_providers")).await?;
    applied(cluster, &[("cluster", json!(cluster))])
}

pub async fn read(
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

pub async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
    put(c, t, &e.physical_id, Vec::new()).await
}
