//! The CloudWatch log group a service's containers write to (awslogs driver).

use super::error::{cloud, gone};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_cloudwatchlogs::types::LogGroup as SdkLogGroup;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Log group.
pub struct LogGroup;

crate::props! {
    for LogGroup;
    pub struct Props / Desired {
        pub name: String,
        pub retention_days: Option<i64>,
    }
}

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

async fn describe(c: &Clients, id: &str, name: &str) -> Result<Option<SdkLogGroup>, CloudError> {
    // The answer is sorted by name, so a group of exactly this name comes first: one
    // is enough, however many others share the prefix (`/ecs/app/s1` and `s10`…`s199`).
    let out = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .limit(1)
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeLogGroups", e))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .cloned())
}

fn arn_of(g: &SdkLogGroup) -> String {
    // DescribeLogGroups gives `...:log-group:NAME:*`; tagging wants it without `:*`.
    g.arn()
        .unwrap_or_default()
        .trim_end_matches(":*")
        .to_string()
}

async fn set_retention(
    c: &Clients,
    t: &Target,
    name: &str,
    want: Option<i64>,
    have: Option<i32>,
) -> Result<(), CloudError> {
    match (want, have) {
        (Some(w), h) if h != Some(w as i32) => {
            c.logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(w as i32)
                .send()
                .await
                .map_err(|e| cloud(&t.id, "PutRetentionPolicy", e))?;
        }
        (None, Some(_)) => {
            c.logs
                .delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .map_err(|e| cloud(&t.id, "DeleteRetentionPolicy", e))?;
        }
        _ => {}
    }
    Ok(())
}

/// The group of this name: ours (made by a run that stopped before recording it), or an
/// error when it belongs to someone else.
async fn existing(c: &Clients, t: &Target, name: &str) -> Result<Option<SdkLogGroup>, CloudError> {
    let Some(g) = describe(c, &t.id, name).await? else {
        return Ok(None);
    };
    let tags = c
        .logs
        .list_tags_for_resource()
        .resource_arn(arn_of(&g))
        .send()
        .await
        .map_err(|e| cloud(&t.id, "ListTagsForResource", e))?;
    let tags: Vec<(String, String)> = tags
        .tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if !super::owned_by(&tags, t) {
        return Err(foreign(
            t,
            "CreateLogGroup",
            format!("a log group named {name}"),
            "delete it if it is unused, or rename the service or the stack",
        ));
    }
    Ok(Some(g))
}

/// A group as AWS reports it, in the shape of its props.
fn observe(g: &SdkLogGroup, e: &Entry) -> Fields {
    let mut m = super::props::outputs(&[
        ("name", json!(g.log_group_name())),
        // Explicit: "kept forever" is a value, not "not reported".
        (
            "retention_days",
            g.retention_in_days().map_or(json!("forever"), |d| json!(d)),
        ),
    ]);
    if m["retention_days"] == json!("forever")
        && e.props.get("retention_days").is_none_or(Json::is_null)
    {
        m.remove("retention_days");
    }
    m
}

/// The longest prefix all `names` share.
fn common_prefix<'a>(names: &[&'a str]) -> &'a str {
    let Some(first) = names.first() else {
        return "";
    };
    let mut len = first.len();
    for n in &names[1..] {
        len = first
            .bytes()
            .zip(n.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    // Cut on a character boundary.
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

impl Owned for LogGroup {
    type Props = Props;
    const LABEL: &'static str = "log group";
    const REPLACE_ON: &'static [&'static str] = &["name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id)
            .await?
            .map(|g| observe(&g, e)))
    }

    const BATCHES: bool = true;

    /// One paginated listing by the names' common prefix (`/ecs/<stack>/`), not one each.
    async fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> Result<Vec<Option<Fields>>, CloudError> {
        let names: Vec<&str> = items.iter().map(|(_, e)| e.physical_id.as_str()).collect();
        let prefix = common_prefix(&names);
        let mut found = std::collections::HashMap::new();
        let mut pages = c
            .logs
            .describe_log_groups()
            .set_log_group_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| cloud(&items[0].0, "DescribeLogGroups", err))?;
            for g in page.log_groups() {
                found.insert(
                    g.log_group_name().unwrap_or_default().to_string(),
                    g.clone(),
                );
            }
        }
        Ok(items
            .iter()
            .map(|(_, e)| found.get(&e.physical_id).map(|g| observe(g, e)))
            .collect())
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.name.as_str();
        // Discovery found none of ours: create at once; a group of that name (someone
        // else's) makes CloudWatch Logs refuse, and is looked at then.
        let earlier = if t.absent {
            None
        } else {
            existing(c, t, name).await?
        };
        let group = match earlier {
            Some(g) => g,
            None => {
                let made = c
                    .logs
                    .create_log_group()
                    .log_group_name(name)
                    .set_tags(Some(super::tags_for(t).into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "CreateLogGroup", e));
                match made {
                    Ok(_) => {
                        // A new group keeps logs forever, so its retention is set. Its ARN
                        // is built, not read back: CreateLogGroup does not return it, and
                        // its form is fixed (the caller's identity is asked once a run).
                        let (me, ()) = tokio::try_join!(
                            super::account::caller(c),
                            set_retention(c, t, name, p.retention_days, None)
                        )?;
                        let arn = format!(
                            "arn:{}:logs:{}:{}:log-group:{name}",
                            me.partition, c.region, me.account_id
                        );
                        return applied(name, &[("name", json!(name)), ("arn", json!(arn))]);
                    }
                    Err(e)
                        if t.absent
                            && e.code.as_deref() == Some("ResourceAlreadyExistsException") =>
                    {
                        existing(c, t, name).await?.ok_or(e)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        set_retention(c, t, name, p.retention_days, group.retention_in_days()).await?;
        applied(
            name,
            &[("name", json!(name)), ("arn", json!(arn_of(&group)))],
        )
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let have = describe(c, &t.id, &e.physical_id)
            .await?
            .and_then(|g| g.retention_in_days());
        set_retention(c, t, &e.physical_id, p.retention_days, have).await?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        gone(
            c.logs
                .delete_log_group()
                .log_group_name(&e.physical_id)
                .send()
                .await,
            NOT_FOUND,
            &t.id,
            "DeleteLogGroup",
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

    /// The stack's log groups live under `/ecs/<stack>/`; each is confirmed by its tags.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        let mut pages = c
            .logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/ecs/{stack}/"))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "DescribeLogGroups", e))?;
            for g in page.log_groups() {
                let Some(arn) = g.arn() else { continue };
                let tags = c
                    .logs
                    .list_tags_for_resource()
                    .resource_arn(arn.trim_end_matches(":*"))
                    .send()
                    .await
                    .map_err(|e| cloud(stack, "ListTagsForResource", e))?;
                let tags: Vec<(String, String)> = tags
                    .tags()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                out.extend(super::found_in(&tags, stack, g.log_group_name()).map(|f| {
                    f.with(&[
                        ("name", json!(g.log_group_name())),
                        ("arn", json!(arn_of(g))),
                    ])
                }));
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
