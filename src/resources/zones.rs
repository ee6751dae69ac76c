//! The region's availability zones, for spreading a VPC's subnets.

use super::ec2_tags::filter;
use super::error::cloud;
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Map, Value as Json, json};

pub async fn lookup(c: &Clients) -> Result<Map<String, Json>, CloudError> {
    let out = c
        .ec2
        .describe_availability_zones()
        .filters(filter("state", "available"))
        .filters(filter("zone-type", "availability-zone"))
        .send()
        .await
        .map_err(|e| cloud("availability zones", "DescribeAvailabilityZones", e))?;
    let mut names: Vec<String> = out
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    names.sort();
    Ok(super::props::outputs(&[("names", json!(names))]))
}
