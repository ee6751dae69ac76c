//! Subnets of the stack's VPC, one per availability zone in turn.

use super::ec2_tags::spec;
use super::error::{cloud, found, gone};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Subnet.
pub struct Subnet;

crate::props! {
    for Subnet;
    pub struct Props / Desired {
        pub vpc_id: String,
        pub cidr: String,
        pub availability_zone: String,
        pub map_public_ip_on_launch: bool,
        pub name: String,
    }
}

const NOT_FOUND: &[&str] = &["InvalidSubnetID.NotFound"];

async fn set_public_ip(c: &Clients, t: &Target, id: &str, on: bool) -> Result<(), CloudError> {
    super::retry::until_visible(t, "ModifySubnetAttribute", || async {
        c.ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map_err(|e| cloud(&t.id, "ModifySubnetAttribute", e))
    })
    .await?;
    Ok(())
}

impl Owned for Subnet {
    type Props = Props;
    const LABEL: &'static str = "subnet";
    const REPLACE_ON: &'static [&'static str] = &["vpc_id", "cidr", "availability_zone"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;
    // Made inside the VPC: its id is all it needs, not the VPC's DNS settings.
    const EARLY: &'static [crate::resources::Kind] = &[crate::resources::Kind::Vpc];

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let Some(out) = found(
            c.ec2
                .describe_subnets()
                .subnet_ids(&e.physical_id)
                .send()
                .await,
            NOT_FOUND,
            id,
            "DescribeSubnets",
        )?
        else {
            return Ok(None);
        };
        Ok(out.subnets().first().map(observe))
    }

    const BATCHES: bool = true;

    /// Up to 200 a call, by a `subnet-id` filter (which, unlike `SubnetIds`, does not fail
    /// the whole call when one of them is gone).
    async fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> Result<Vec<Option<Fields>>, CloudError> {
        crate::ec2_read_many!(
            c,
            items,
            describe_subnets,
            "DescribeSubnets",
            "subnet-id",
            subnets,
            subnet_id,
            |s, _| observe(s)
        )
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let found = crate::ec2_earlier!(
            c,
            t,
            describe_subnets,
            DescribeSubnetsOutput,
            "DescribeSubnets"
        )?;
        let id = match found.subnets().first().and_then(|v| v.subnet_id()) {
            Some(id) => id.to_string(),
            None => c
                .ec2
                .create_subnet()
                .vpc_id(p.vpc_id.as_str())
                .cidr_block(p.cidr.as_str())
                .availability_zone(p.availability_zone.as_str())
                .tag_specifications(spec(ResourceType::Subnet, t, Some(p.name.as_str())))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateSubnet", e))?
                .subnet()
                .and_then(|v| v.subnet_id())
                .unwrap_or_default()
                .to_string(),
        };
        t.record.created(&id, &[("id", json!(id))]).await?;
        set_public_ip(c, t, &id, p.map_public_ip_on_launch).await?;
        applied(&id, &[("id", json!(id))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        set_public_ip(c, t, &e.physical_id, p.map_public_ip_on_launch).await?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        super::retry::while_in_use::<Self, _, _>(t, "DeleteSubnet", || async {
            let result = gone(
                c.ec2.delete_subnet().subnet_id(&e.physical_id).send().await,
                NOT_FOUND,
                &t.id,
                "DeleteSubnet",
            );
            match result {
                // Say what holds it: usually the interface of a task that is still stopping.
                Err(mut err) if err.code.as_deref() == Some("DependencyViolation") => {
                    err.message
                        .push_str(&super::ec2_tags::holders(c, "subnet-id", &e.physical_id).await);
                    Err(err)
                }
                other => other,
            }
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
        crate::ec2_discover!(
            c,
            stack,
            describe_subnets,
            "DescribeSubnets",
            subnets,
            subnet_id,
            |r: &aws_sdk_ec2::types::Subnet| [("id", json!(r.subnet_id()))]
        )
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, super::retry::EC2_IN_USE)
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}

/// The subnet as AWS has it, in the shape of its props.
fn observe(v: &aws_sdk_ec2::types::Subnet) -> Fields {
    super::props::outputs(&[
        ("vpc_id", json!(v.vpc_id())),
        ("cidr", json!(v.cidr_block())),
        ("availability_zone", json!(v.availability_zone())),
        (
            "map_public_ip_on_launch",
            json!(v.map_public_ip_on_launch()),
        ),
    ])
}
