//! The region's availability zones, for spreading a VPC's subnets.

use super::ec2_tags::filter;
use super::error::cloud;
use super::kind::{Fields, Lookup};
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The availability zones.
pub struct AvailabilityZones;

impl Lookup for AvailabilityZones {
    const LABEL: &'static str = "availability zones";

    async fn lookup(c: &Clients, _id: &str, _props: &Json) -> Result<Fields, CloudError> {
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

    fn used_note(_outputs: &Fields) -> Option<String> {
        None
    }
}
