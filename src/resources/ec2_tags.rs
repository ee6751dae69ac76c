//! EC2 tagging: tags at creation, and finding what a crashed run created.

use super::{TAG_ID, TAG_STACK, tags_for};
use crate::provider::Target;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

pub fn spec(rt: ResourceType, t: &Target, name: Option<&str>) -> TagSpecification {
    let mut tags: Vec<Tag> = tags_for(t)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    if let Some(n) = name {
        tags.push(Tag::builder().key("Name").value(n).build());
    }
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags))
        .build()
}

/// Filters matching this resource of this stack, to adopt one created before a crash.
pub fn owned_filters(t: &Target) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name(format!("tag:{TAG_STACK}"))
            .values(&t.stack)
            .build(),
        Filter::builder()
            .name(format!("tag:{TAG_ID}"))
            .values(&t.id)
            .build(),
    ]
}

pub fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The network interfaces matching `filter` (`group-id`, `subnet-id`), to name what holds
/// a group or subnet that AWS will not delete yet.
pub async fn holders(c: &crate::aws::Clients, filter_name: &str, id: &str) -> String {
    let Ok(out) = c
        .ec2
        .describe_network_interfaces()
        .filters(filter(filter_name, id))
        .send()
        .await
    else {
        return String::new();
    };
    let held: Vec<String> = out
        .network_interfaces()
        .iter()
        .map(|ni| {
            let id = ni.network_interface_id().unwrap_or("?");
            match ni.description().filter(|d| !d.is_empty()) {
                Some(d) => format!("{id} ({d})"),
                None => id.to_string(),
            }
        })
        .collect();
    if held.is_empty() {
        String::new()
    } else {
        format!("; in use by network interface {}", held.join(", "))
    }
}

/// Everything tagged with the stack.
pub fn stack_filter(stack: &str) -> Filter {
    filter(&format!("tag:{TAG_STACK}"), stack)
}

/// EC2 tags as pairs.
pub fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    crate::tag_pairs!(tags)
}

/// One paginated EC2 describe filtered by the stack's tag, as found resources.
#[macro_export]
#[doc(hidden)]
macro_rules! ec2_discover {
    ($c:expr, $stack:expr, $op:ident, $opname:literal, $items:ident, $id:ident, $outputs:expr) => {{
        let mut out = Vec::new();
        let mut pages = $c
            .ec2
            .$op()
            .filters($crate::resources::ec2_tags::stack_filter($stack))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| $crate::resources::cloud($stack, $opname, e))?;
            for r in page.$items() {
                let found = $crate::resources::found_in(
                    &$crate::resources::ec2_tags::pairs(r.tags()),
                    $stack,
                    r.$id(),
                );
                out.extend(found.map(|f| f.with(&$outputs(r))));
            }
        }
        Ok(out)
    }};
}

/// What an earlier run of this resource left, found by its tags (one describe filtered by
/// the stack and logical id); an empty answer, without a call, when the plan's discovery
/// already found none (`Target::absent`).
#[macro_export]
#[doc(hidden)]
macro_rules! ec2_earlier {
    ($c:expr, $t:expr, $op:ident, $output:ident, $opname:literal) => {{
        if $t.absent {
            Ok(aws_sdk_ec2::operation::$op::$output::builder().build())
        } else {
            $c.ec2
                .$op()
                .set_filters(Some($crate::resources::ec2_tags::owned_filters($t)))
                .send()
                .await
                .map_err(|e| $crate::resources::cloud(&$t.id, $opname, e))
        }
    }};
}

/// Up to 200 of a kind a call, by an id filter (`group-id`, `subnet-id`), which unlike the
/// ids parameter does not fail the whole call when one of them is gone: each item's
/// observed fields, in order, `None` for those AWS no longer has.
#[macro_export]
#[doc(hidden)]
macro_rules! ec2_read_many {
    ($c:expr, $items:expr, $op:ident, $opname:literal, $filter:literal, $list:ident, $id:ident, $observe:expr) => {{
        let mut seen = std::collections::HashMap::new();
        for chunk in $items.chunks(200) {
            let ids: Vec<String> = chunk.iter().map(|(_, e)| e.physical_id.clone()).collect();
            let got = $c
                .ec2
                .$op()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name($filter)
                        .set_values(Some(ids))
                        .build(),
                )
                .send()
                .await
                .map_err(|err| $crate::resources::cloud(&chunk[0].0, $opname, err))?;
            for r in got.$list() {
                seen.insert(r.$id().unwrap_or_default().to_string(), r.clone());
            }
        }
        Ok($items
            .iter()
            .map(|(_, e)| seen.get(&e.physical_id).map(|r| $observe(r, e)))
            .collect())
    }};
}
