//! The ECS cluster. CreateCluster returns an existing cluster of that name, so the
//! stack first checks that it is not adopting someone else's.

use super::error::{cloud, gone};
use super::foreign;
use super::props::{applied, s};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::{Cluster, ClusterField, Tag};
use serde_json::{Map, Value as Json, json};

async fn describe(c: &Clients, id: &str, name: &str) -> Result<Option<Cluster>, CloudError> {
    let out = c
        .ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeClusters", e))?;
    Ok(out
        .clusters()
        .iter()
        .find(|cl| cl.status() == Some("ACTIVE"))
        .cloned())
}

pub fn ecs_tags(t: &Target) -> Vec<Tag> {
    super::tags_for(t)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub fn tags_of(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().into(),
                t.value().unwrap_or_default().into(),
            )
        })
        .collect()
}

pub async fn create(c: &Clients, t: &Target, p: &Json) -> Result<Applied, CloudError> {
    let name = s(p, "name");
    let cluster = match describe(c, &t.id, name).await? {
        Some(cl) if super::owned_by(&tags_of(cl.tags()), t) => cl,
        Some(_) => {
            return Err(foreign(
                t,
                "CreateCluster",
                format!("an ECS cluster named {name}"),
                "choose another name with `cluster:` in the stack file",
            ));
        }
        None => c
            .ecs
            .create_cluster()
            .cluster_name(name)
            .set_tags(Some(ecs_tags(t)))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateCluster", e))?
            .cluster()
            .cloned()
            .unwrap_or_else(|| Cluster::builder().build()),
    };
    let arn = cluster.cluster_arn().unwrap_or_default();
    applied(arn, &[("arn", json!(arn)), ("name", json!(name))])
}

pub async fn read(
    c: &Clients,
    id: &str,
    e: &Entry,
) -> Result<Option<Map<String, Json>>, CloudError> {
    Ok(describe(c, id, &e.physical_id)
        .await?
        .map(|cl| super::props::outputs(&[("name", json!(cl.cluster_name()))])))
}

pub async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
    super::retry::while_in_use(t, "DeleteCluster", || async {
        let r = c.ecs.delete_cluster().cluster(&e.physical_id).send().await;
        gone(r, &["ClusterNotFoundException"], &t.id, "DeleteCluster")
    })
    .await
}
