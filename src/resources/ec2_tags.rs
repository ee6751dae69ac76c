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
