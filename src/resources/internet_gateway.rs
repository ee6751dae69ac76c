//! The internet gateway of the stack's VPC. It is made on its own, at once; the public
//! route table attaches it to the VPC (while the table is made) and detaches it when the
//! table goes, so that neither waits for the other longer than AWS needs.

use super::ec2_tags::spec;
use super::error::{cloud, found, gone, is_code};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::ResourceType;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Internet gateway.
pub struct InternetGateway;

crate::props! {
    for InternetGateway;
    pub struct Props / Desired {
        pub name: String,
    }
}

const NOT_FOUND: &[&str] = &["InvalidInternetGatewayID.NotFound"];

/// The VPCs the gateway is attached to; None if it is gone.
async fn attached_to(
    c: &Clients,
    t: &Target,
    igw: &str,
) -> Result<Option<Vec<String>>, CloudError> {
    let out = match c
        .ec2
        .describe_internet_gateways()
        .internet_gateway_ids(igw)
        .send()
        .await
    {
        Ok(o) => o,
        Err(err) if is_code(&err, NOT_FOUND) => return Ok(None),
        Err(err) => return Err(cloud(&t.id, "DescribeInternetGateways", err)),
    };
    Ok(Some(
        out.internet_gateways()
            .iter()
            .flat_map(|g| g.attachments())
            .filter_map(|a| a.vpc_id().map(str::to_string))
            .collect(),
    ))
}

/// Attaches the gateway to the VPC; one already attached there counts as attached.
pub async fn attach(c: &Clients, t: &Target, igw: &str, vpc: &str) -> Result<(), CloudError> {
    let attached = super::retry::until_visible(t, "AttachInternetGateway", || async {
        c.ec2
            .attach_internet_gateway()
            .internet_gateway_id(igw)
            .vpc_id(vpc)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cloud(&t.id, "AttachInternetGateway", e))
    })
    .await;
    match attached {
        Err(err) if err.code.as_deref() == Some("Resource.AlreadyAssociated") => {
            let vpcs = attached_to(c, t, igw).await?.unwrap_or_default();
            if vpcs.iter().any(|v| v == vpc) {
                Ok(())
            } else {
                Err(err)
            }
        }
        other => other,
    }
}

/// Detaches the gateway from the VPC, waiting while public addresses in the VPC are being
/// released; one not attached counts as detached. False if the gateway is gone.
pub async fn detach(c: &Clients, t: &Target, igw: &str, vpc: &str) -> Result<bool, CloudError> {
    let detached =
        super::retry::while_in_use::<InternetGateway, _, _>(t, "DetachInternetGateway", || async {
            c.ec2
                .detach_internet_gateway()
                .internet_gateway_id(igw)
                .vpc_id(vpc)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| cloud(&t.id, "DetachInternetGateway", err))
        })
        .await;
    match detached {
        Ok(()) => Ok(true),
        Err(err) if err.code.as_deref() == Some("Gateway.NotAttached") => Ok(true),
        Err(err) if err.code.as_deref().is_some_and(|c| NOT_FOUND.contains(&c)) => Ok(false),
        Err(err) => Err(err),
    }
}

impl Owned for InternetGateway {
    type Props = Props;
    const LABEL: &'static str = "internet gateway";
    const REPLACE_ON: &'static [&'static str] = &[];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;
    const EARLY: &'static [crate::resources::Kind] = &[];
    // A state written before the table attached the gateway has it depend on the VPC:
    // once detached, the VPC's deletion need not wait for the gateway's.
    const LETS_GO: &'static [crate::resources::Kind] = &[crate::resources::Kind::Vpc];

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let Some(out) = found(
            c.ec2
                .describe_internet_gateways()
                .internet_gateway_ids(&e.physical_id)
                .send()
                .await,
            NOT_FOUND,
            id,
            "DescribeInternetGateways",
        )?
        else {
            return Ok(None);
        };
        Ok(out
            .internet_gateways()
            .first()
            .map(|_| super::props::outputs(&[])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let found = crate::ec2_earlier!(
            c,
            t,
            describe_internet_gateways,
            DescribeInternetGatewaysOutput,
            "DescribeInternetGateways"
        )?;
        let id = match found.internet_gateways().first() {
            Some(g) => g.internet_gateway_id().unwrap_or_default().to_string(),
            None => c
                .ec2
                .create_internet_gateway()
                .tag_specifications(spec(
                    ResourceType::InternetGateway,
                    t,
                    Some(p.name.as_str()),
                ))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateInternetGateway", e))?
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .unwrap_or_default()
                .to_string(),
        };
        applied(&id, &[("id", json!(id))])
    }

    async fn update(
        _c: &Clients,
        _t: &Target,
        e: &Entry,
        _p: &Props,
    ) -> Result<Applied, CloudError> {
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let id = &e.physical_id;
        // A state written before the table attached the gateway names the VPC here.
        if let Some(vpc) = e.props.get("vpc_id").and_then(Json::as_str)
            && !vpc.is_empty()
            && !detach(c, t, id, vpc).await?
        {
            return Ok(());
        }
        t.released();
        let first = c
            .ec2
            .delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await;
        match first {
            Err(err) if is_code(&err, &["DependencyViolation"]) => {}
            other => return gone(other, NOT_FOUND, &t.id, "DeleteInternetGateway"),
        }
        // Still attached (by hand, or the table's deletion did not get to it): read, detach.
        let Some(vpcs) = attached_to(c, t, id).await? else {
            return Ok(());
        };
        for vpc in vpcs {
            if !detach(c, t, id, &vpc).await? {
                return Ok(());
            }
        }
        gone(
            c.ec2
                .delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await,
            NOT_FOUND,
            &t.id,
            "DeleteInternetGateway",
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

    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        crate::ec2_discover!(
            c,
            stack,
            describe_internet_gateways,
            "DescribeInternetGateways",
            internet_gateways,
            internet_gateway_id,
            |r: &aws_sdk_ec2::types::InternetGateway| [("id", json!(r.internet_gateway_id()))]
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
