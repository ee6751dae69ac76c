//! The account's default VPC and its default subnets: looked up, never owned.

use super::ec2_tags::filter;
use super::error::{cloud, own};
use super::kind::{Fields, Lookup};
use super::props::shown;
use crate::aws::Clients;
use crate::provider::CloudError;
use serde_json::{Value as Json, json};

/// The default VPC.
pub struct DefaultVpc;

impl Lookup for DefaultVpc {
    const LABEL: &'static str = "default VPC";

    async fn lookup(c: &Clients, _id: &str, props: &Json) -> Result<Fields, CloudError> {
        let fargate = super::zones::wants_fargate(props);
        let r = "the default VPC";
        let vpcs = c
            .ec2
            .describe_vpcs()
            .filters(filter("isDefault", "true"))
            .send()
            .await
            .map_err(|e| cloud(r, "DescribeVpcs", e))?;
        let Some(vpc) = vpcs.vpcs().first() else {
            return Err(own(
                r,
                "lookup",
                format!("region {} has no default VPC", c.region),
                "give the stack a VPC of its own: `network: { vpc: { cidr: 10.0.0.0/16, public_subnets: 2 } }`",
            ));
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        let subnets = c
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", &vpc_id))
            .filters(filter("default-for-az", "true"))
            .send()
            .await
            .map_err(|e| cloud(r, "DescribeSubnets", e))?;
        let mut found: Vec<(String, String)> = subnets
            .subnets()
            .iter()
            .filter(|s| {
                !fargate
                    || super::zones::fargate_runs_in(
                        &c.region,
                        s.availability_zone_id().unwrap_or_default(),
                    )
            })
            .map(|s| {
                (
                    s.availability_zone().unwrap_or_default().to_string(),
                    s.subnet_id().unwrap_or_default().to_string(),
                )
            })
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(own(
                r,
                "lookup",
                format!(
                    "the default VPC {vpc_id} has no default subnets{}",
                    if fargate {
                        " in a zone where Fargate runs"
                    } else {
                        ""
                    }
                ),
                "give the stack a VPC of its own: `network: { vpc: { cidr: 10.0.0.0/16, public_subnets: 2 } }`",
            ));
        }
        let ids: Vec<String> = found.into_iter().map(|(_, id)| id).collect();
        Ok(super::props::outputs(&[
            ("id", json!(vpc_id)),
            ("cidr", json!(vpc.cidr_block().unwrap_or_default())),
            ("subnet_ids", json!(ids)),
        ]))
    }

    fn used_note(outputs: &Fields) -> Option<String> {
        Some(format!(
            "uses the default VPC {} (never changed or deleted)",
            shown(outputs, "id")
        ))
    }
}
