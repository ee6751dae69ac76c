//! The region's availability zones, for spreading a VPC's subnets; with Fargate services,
//! only the zones where Fargate runs.

use super::ec2_tags::filter;
use super::error::cloud;
use super::kind::{Fields, Lookup};
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The zones where Fargate runs, in the regions where it does not run in all of them, by
/// zone id (the same in every account, unlike zone names). From AWS's "Supported Regions for
/// Amazon ECS on AWS Fargate".
const FARGATE_ZONES: &[(&str, &[&str])] = &[
    ("us-west-1", &["usw1-az1", "usw1-az3"]),
    ("ap-northeast-1", &["apne1-az1", "apne1-az2", "apne1-az4"]),
];

/// Whether Fargate runs in the zone (any zone of a region not listed).
pub fn fargate_runs_in(region: &str, zone_id: &str) -> bool {
    FARGATE_ZONES
        .iter()
        .find(|(r, _)| *r == region)
        .is_none_or(|(_, ids)| ids.contains(&zone_id))
}

/// Whether the stack has Fargate services, so that its subnets must keep to Fargate's zones.
pub fn wants_fargate(props: &Json) -> bool {
    props
        .get("fargate")
        .and_then(Json::as_bool)
        .unwrap_or(false)
}

/// The availability zones.
pub struct AvailabilityZones;

impl Lookup for AvailabilityZones {
    const LABEL: &'static str = "availability zones";

    async fn lookup(c: &Clients, _id: &str, props: &Json) -> Result<Fields, CloudError> {
        let fargate = wants_fargate(props);
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
            .filter(|z| !fargate || fargate_runs_in(&c.region, z.zone_id().unwrap_or_default()))
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        names.sort();
        Ok(super::props::outputs(&[("names", json!(names))]))
    }

    fn used_note(_outputs: &Fields) -> Option<String> {
        None
    }
}
