//! A VPC of the stack's own, with DNS hostnames on (tasks and instances get names).

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

/// VPC.
pub struct Vpc;

crate::props! {
    for Vpc;
    pub struct Props / Desired {
        pub cidr: String,
        pub enable_dns_hostnames: bool,
        pub name: String,
    }
}

const NOT_FOUND: &[&str] = &["InvalidVpcID.NotFound"];

async fn set_dns_hostnames(c: &Clients, t: &Target, id: &str, on: bool) -> Result<(), CloudError> {
    super::retry::until_visible(t, "ModifyVpcAttribute", || async {
        c.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map_err(|e| cloud(&t.id, "ModifyVpcAttribute", e))
    })
    .await?;
    Ok(())
}

impl Owned for Vpc {
    type Props = Props;
    const LABEL: &'static str = "VPC";
    const REPLACE_ON: &'static [&'static str] = &["cidr"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    // Deleted only once everything in it is (see `Owned::REPLACEABLE`).
    const REPLACEABLE: bool = false;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let Some(out) = found(
            c.ec2.describe_vpcs().vpc_ids(&e.physical_id).send().await,
            NOT_FOUND,
            id,
            "DescribeVpcs",
        )?
        else {
            return Ok(None);
        };
        Ok(out
            .vpcs()
            .first()
            .map(|v| super::props::outputs(&[("cidr", json!(v.cidr_block().unwrap_or_default()))])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let found = crate::ec2_earlier!(c, t, describe_vpcs, DescribeVpcsOutput, "DescribeVpcs")?;
        let id = match found.vpcs().first().and_then(|v| v.vpc_id()) {
            Some(id) => id.to_string(),
            None => c
                .ec2
                .create_vpc()
                .cidr_block(p.cidr.as_str())
                .tag_specifications(spec(ResourceType::Vpc, t, Some(p.name.as_str())))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateVpc", e))?
                .vpc()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()
                .to_string(),
        };
        t.record.created(&id, &[("id", json!(id))]).await?;
        set_dns_hostnames(c, t, &id, p.enable_dns_hostnames).await?;
        applied(&id, &[("id", json!(id))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        set_dns_hostnames(c, t, &e.physical_id, p.enable_dns_hostnames).await?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        super::retry::while_in_use::<Self, _, _>(t, "DeleteVpc", || async {
            gone(
                c.ec2.delete_vpc().vpc_id(&e.physical_id).send().await,
                NOT_FOUND,
                &t.id,
                "DeleteVpc",
            )
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
            describe_vpcs,
            "DescribeVpcs",
            vpcs,
            vpc_id,
            |r: &aws_sdk_ec2::types::Vpc| [("id", json!(r.vpc_id()))]
        )
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, super::retry::EC2_IN_USE)
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(change: Change, _e: Option<&Entry>) -> Option<String> {
        (change == Change::Replace).then(|| {
            "AWS cannot change a VPC's CIDR, and provision cannot yet replace a VPC with what is in it, so `up` stops before any change: keep the old CIDR, or run `provision down` and then `up`".to_string()
        })
    }
}
