//! The internet gateway of the stack's VPC, with its attachment (detached before deletion).

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
        pub vpc_id: String,
        pub name: String,
    }
}

const NOT_FOUND: &[&str] = &["InvalidInternetGatewayID.NotFound"];

impl Owned for InternetGateway {
    type Props = Props;
    const LABEL: &'static str = "internet gateway";
    const REPLACE_ON: &'static [&'static str] = &["vpc_id"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;
    // Attached to the VPC by its id, whatever its DNS settings; once detached, the VPC's
    // deletion need not wait for the gateway's.
    const EARLY: &'static [crate::resources::Kind] = &[crate::resources::Kind::Vpc];
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
        Ok(out.internet_gateways().first().map(|g| {
            let vpc = g.attachments().first().and_then(|a| a.vpc_id());
            super::props::outputs(&[("vpc_id", json!(vpc.unwrap_or("(detached)")))])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let found = crate::ec2_earlier!(
            c,
            t,
            describe_internet_gateways,
            DescribeInternetGatewaysOutput,
            "DescribeInternetGateways"
        )?;
        let (id, attached) = match found.internet_gateways().first() {
            Some(g) => (
                g.internet_gateway_id().unwrap_or_default().to_string(),
                !g.attachments().is_empty(),
            ),
            None => {
                let out = c
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(spec(
                        ResourceType::InternetGateway,
                        t,
                        Some(p.name.as_str()),
                    ))
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "CreateInternetGateway", e))?;
                let id = out
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .unwrap_or_default()
                    .to_string();
                (id, false)
            }
        };
        t.record.created(&id, &[("id", json!(id))]).await?;
        if !attached {
            super::retry::until_visible(t, "AttachInternetGateway", || async {
                c.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&id)
                    .vpc_id(p.vpc_id.as_str())
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "AttachInternetGateway", e))
            })
            .await?;
        }
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
        // The VPC it was attached to is in its props: detach at once, no read first. A
        // state recovered without it (or a gateway moved by hand) is read instead.
        let vpcs: Vec<String> = match e.props.get("vpc_id").and_then(Json::as_str) {
            Some(vpc) if !vpc.is_empty() => vec![vpc.to_string()],
            _ => {
                let out = match c
                    .ec2
                    .describe_internet_gateways()
                    .internet_gateway_ids(id)
                    .send()
                    .await
                {
                    Ok(o) => o,
                    Err(err) if is_code(&err, NOT_FOUND) => return Ok(()),
                    Err(err) => return Err(cloud(&t.id, "DescribeInternetGateways", err)),
                };
                out.internet_gateways()
                    .iter()
                    .flat_map(|g| g.attachments())
                    .filter_map(|a| a.vpc_id().map(str::to_string))
                    .collect()
            }
        };
        for vpc in vpcs {
            // Detaching waits on public addresses in the VPC being released.
            let detached =
                super::retry::while_in_use::<Self, _, _>(t, "DetachInternetGateway", || async {
                    c.ec2
                        .detach_internet_gateway()
                        .internet_gateway_id(id)
                        .vpc_id(&vpc)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|err| cloud(&t.id, "DetachInternetGateway", err))
                })
                .await;
            match detached {
                Ok(()) => {}
                Err(err) if err.code.as_deref() == Some("Gateway.NotAttached") => {}
                Err(err) if err.code.as_deref().is_some_and(|c| NOT_FOUND.contains(&c)) => {
                    return Ok(());
                }
                Err(err) => return Err(err),
            }
        }
        t.released();
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
