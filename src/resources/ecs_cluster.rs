//! The ECS cluster. CreateCluster returns an existing cluster of that name, so the
//! stack first checks that it is not adopting someone else's.

use super::error::{cloud, gone};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::{Cluster, ClusterField, Tag};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// ECS cluster.
pub struct EcsCluster;

crate::props! {
    for EcsCluster;
    pub struct Props / Desired {
        pub name: String,
    }
}

async fn describe(c: &Clients, id: &str, name: &str) -> Result<Option<Cluster>, CloudError> {
    Ok(describe_all(c, id, vec![name.to_string()])
        .await?
        .into_iter()
        .find(|cl| cl.status() == Some("ACTIVE")))
}

pub fn ecs_tags(t: &Target) -> Vec<Tag> {
    super::tags_for(t)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The clusters that carry the stack's tag, with their tags and capacity providers: asked
/// of AWS once per run (clusters, their services and their capacity are each discovered
/// through them).
pub async fn owned_clusters(c: &Clients, stack: &str) -> Result<Vec<Cluster>, CloudError> {
    let key = format!("owned-clusters/{stack}");
    c.memo
        .once(&key, || list_owned(c, stack))
        .await?
        .ok_or_else(|| super::memo_bug(stack, &key))
}

/// ECS cannot list clusters by tag, and `ListClusters` lists every cluster of the region
/// (deleted ones too), each to be described for its tags. The Resource Groups Tagging API
/// answers "which clusters carry this stack's tag" in one call; at the same time the
/// cluster named after the stack (the default name) is described directly, which also
/// covers the tag index lagging behind a cluster made seconds ago. Only clusters the index
/// names beyond that one are described after, to see that they are still ACTIVE.
async fn list_owned(c: &Clients, stack: &str) -> Result<Vec<Cluster>, CloudError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let tagged = async {
        let mut arns = Vec::new();
        let mut pages = c
            .tagging
            .get_resources()
            .resource_type_filters("ecs:cluster")
            .tag_filters(
                TagFilter::builder()
                    .key(super::TAG_STACK)
                    .values(stack)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "GetResources", e))?;
            arns.extend(
                page.resource_tag_mapping_list()
                    .iter()
                    .filter_map(|m| m.resource_arn().map(str::to_string)),
            );
        }
        Ok::<_, CloudError>(arns)
    };
    let named = describe_all(c, stack, vec![stack.to_string()]);
    let (tagged, named) = tokio::try_join!(tagged, named)?;
    let seen: Vec<&str> = named.iter().filter_map(|cl| cl.cluster_arn()).collect();
    let rest: Vec<String> = tagged
        .into_iter()
        .filter(|arn| !seen.contains(&arn.as_str()))
        .collect();
    let mut all = named;
    // DescribeClusters takes 100 at a time.
    for chunk in rest.chunks(100) {
        all.extend(describe_all(c, stack, chunk.to_vec()).await?);
    }
    Ok(all
        .into_iter()
        .filter(|cl| cl.status() == Some("ACTIVE"))
        .filter(|cl| super::found_in(&tags_of(cl.tags()), stack, Some("-")).is_some())
        .collect())
}

/// The clusters of these names or ARNs that exist (any status), with their tags; `id`
/// names what asks, in an error.
async fn describe_all(
    c: &Clients,
    id: &str,
    clusters: Vec<String>,
) -> Result<Vec<Cluster>, CloudError> {
    let got = c
        .ecs
        .describe_clusters()
        .set_clusters(Some(clusters))
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeClusters", e))?;
    Ok(got.clusters().to_vec())
}

pub fn tags_of(tags: &[Tag]) -> Vec<(String, String)> {
    crate::tag_pairs!(tags)
}

impl Owned for EcsCluster {
    type Props = Props;
    const LABEL: &'static str = "ECS cluster";
    const REPLACE_ON: &'static [&'static str] = &["name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    // Deleted only once its services are (see `Owned::REPLACEABLE`).
    const REPLACEABLE: bool = false;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id)
            .await?
            .map(|cl| super::props::outputs(&[("name", json!(cl.cluster_name()))])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
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

    async fn update(
        _c: &Clients,
        _t: &Target,
        e: &Entry,
        _p: &Props,
    ) -> Result<Applied, CloudError> {
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        super::retry::while_in_use::<Self, _, _>(t, "DeleteCluster", || async {
            let r = c.ecs.delete_cluster().cluster(&e.physical_id).send().await;
            gone(r, &["ClusterNotFoundException"], &t.id, "DeleteCluster")
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
        Ok(owned_clusters(c, stack)
            .await?
            .iter()
            .filter_map(|cl| {
                super::found_in(&tags_of(cl.tags()), stack, cl.cluster_arn()).map(|f| {
                    f.with(&[
                        ("arn", json!(cl.cluster_arn())),
                        ("name", json!(cl.cluster_name())),
                    ])
                })
            })
            .collect())
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(
            e,
            &[
                // A terminated instance leaves the cluster a little after its group is gone.
                "ClusterContainsContainerInstancesException",
                "ClusterContainsTasksException",
                "ClusterContainsServicesException",
            ],
        )
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(change: Change, _e: Option<&Entry>) -> Option<String> {
        (change == Change::Replace).then(|| {
            "ECS cannot rename a cluster, and provision cannot yet replace a cluster with the services in it, so `up` stops before any change: keep the old name, or run `provision down` and then `up`".to_string()
        })
    }
}
