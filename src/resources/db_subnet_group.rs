//! The DB subnet group: the private subnets (two AZs at least) the database may use.

use super::error::{cloud, found, gone, own};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::{applied, ordered_like};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_rds::types::{DbSubnetGroup as SdkDbSubnetGroup, Tag};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// DB subnet group.
pub struct DbSubnetGroup;

crate::props! {
    for DbSubnetGroup;
    pub struct Props / Desired {
        pub name: String,
        pub description: String,
        pub subnet_ids: Vec<String>,
    }
}

const NOT_FOUND: &[&str] = &["DBSubnetGroupNotFoundFault"];

async fn describe(
    c: &Clients,
    id: &str,
    name: &str,
) -> Result<Option<SdkDbSubnetGroup>, CloudError> {
    let got = c
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await;
    Ok(found(got, NOT_FOUND, id, "DescribeDBSubnetGroups")?
        .and_then(|o| o.db_subnet_groups().first().cloned()))
}

pub fn rds_tags(t: &Target) -> Vec<Tag> {
    super::tags_for(t)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Owned for DbSubnetGroup {
    type Props = Props;
    const LABEL: &'static str = "DB subnet group";
    const REPLACE_ON: &'static [&'static str] = &["name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|g| {
            let subnets: Vec<Json> = g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier())
                .map(|s| json!(s))
                .collect();
            super::props::outputs(&[
                ("description", json!(g.db_subnet_group_description())),
                (
                    "subnet_ids",
                    ordered_like(subnets, e.props.get("subnet_ids")),
                ),
            ])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        let group = match describe(c, &t.id, name).await? {
            Some(g) => {
                let tags = c
                    .rds
                    .list_tags_for_resource()
                    .resource_name(g.db_subnet_group_arn().unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "ListTagsForResource", e))?;
                let tags = crate::tag_pairs!(tags.tag_list());
                if !super::owned_by(&tags, t) {
                    return Err(foreign(
                        t,
                        "CreateDBSubnetGroup",
                        format!("a DB subnet group named {name}"),
                        "rename the stack or the database",
                    ));
                }
                g
            }
            None => c
                .rds
                .create_db_subnet_group()
                .db_subnet_group_name(name)
                .db_subnet_group_description(p.description.as_str())
                .set_subnet_ids(Some(p.subnet_ids.clone()))
                .set_tags(Some(rds_tags(t)))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateDBSubnetGroup", e))?
                .db_subnet_group()
                .cloned()
                .ok_or_else(|| {
                    own(
                        &t.id,
                        "CreateDBSubnetGroup",
                        "AWS returned no group",
                        "run the command again",
                    )
                })?,
        };
        applied(
            name,
            &[
                ("name", json!(name)),
                ("arn", json!(group.db_subnet_group_arn())),
            ],
        )
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        c.rds
            .modify_db_subnet_group()
            .db_subnet_group_name(&e.physical_id)
            .db_subnet_group_description(p.description.as_str())
            .set_subnet_ids(Some(p.subnet_ids.clone()))
            .send()
            .await
            .map_err(|err| cloud(&t.id, "ModifyDBSubnetGroup", err))?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        super::retry::while_in_use::<Self, _, _>(t, "DeleteDBSubnetGroup", || async {
            let r = c
                .rds
                .delete_db_subnet_group()
                .db_subnet_group_name(&e.physical_id)
                .send()
                .await;
            gone(r, NOT_FOUND, &t.id, "DeleteDBSubnetGroup")
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

    /// DescribeDBSubnetGroups returns no tags: the stack's names (`<stack>-…`, lower case)
    /// are confirmed by their tags.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        let prefix = format!("{}-", stack.to_lowercase());
        let mut pages = c.rds.describe_db_subnet_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "DescribeDBSubnetGroups", e))?;
            for g in page.db_subnet_groups() {
                let (Some(name), Some(arn)) = (g.db_subnet_group_name(), g.db_subnet_group_arn())
                else {
                    continue;
                };
                if !name.starts_with(&prefix) {
                    continue;
                }
                let tags = c
                    .rds
                    .list_tags_for_resource()
                    .resource_name(arn)
                    .send()
                    .await
                    .map_err(|e| cloud(stack, "ListTagsForResource", e))?;
                let tags = crate::tag_pairs!(tags.tag_list());
                out.extend(
                    super::found_in(&tags, stack, Some(name))
                        .map(|f| f.with(&[("name", json!(name)), ("arn", json!(arn))])),
                );
            }
        }
        Ok(out)
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, &["InvalidDBSubnetGroupStateFault"])
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
