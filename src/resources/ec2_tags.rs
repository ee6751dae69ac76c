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
