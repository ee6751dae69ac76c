//! The public route table: a default route to the internet gateway, and its subnets.

use super::ec2_tags::spec;
use super::error::{cloud, found, gone, is_code};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::{applied, ordered_like};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::{ResourceType, RouteTable as SdkRouteTable};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Route table.
pub struct RouteTable;

crate::props! {
    for RouteTable;
    pub struct Props / Desired {
        pub vpc_id: String,
        pub gateway_id: String,
        pub subnet_ids: Vec<String>,
        pub name: String,
    }
}

const NOT_FOUND: &[&str] = &["InvalidRouteTableID.NotFound"];
const ANYWHERE: &str = "0.0.0.0/0";

/// (gateway of the default route, subnet -> association id)
#[derive(Default)]
struct Seen {
    gateway: Option<String>,
    subnets: Vec<(String, String)>,
}

fn observe(rt: &SdkRouteTable) -> Seen {
    Seen {
        gateway: rt
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some(ANYWHERE))
            .and_then(|r| r.gateway_id().map(str::to_string)),
        subnets: rt
            .associations()
            .iter()
            .filter(|a| !a.main().unwrap_or(false))
            .filter_map(|a| {
                Some((
                    a.subnet_id()?.to_string(),
                    a.route_table_association_id()?.to_string(),
                ))
            })
            .collect(),
    }
}

/// Associations as outputs: subnet -> association id.
fn associations(pairs: &[(String, String)]) -> Json {
    Json::Object(
        pairs
            .iter()
            .map(|(subnet, assoc)| (subnet.clone(), json!(assoc)))
            .collect(),
    )
}

/// Removes these associations together; one already gone counts as removed.
async fn disassociate(c: &Clients, t: &Target, ids: &[String]) -> Result<(), CloudError> {
    let leave = ids.iter().map(|assoc| async move {
        match c
            .ec2
            .disassociate_route_table()
            .association_id(assoc)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_code(&err, &["InvalidAssociationID.NotFound"]) => Ok(()),
            Err(err) => Err(cloud(&t.id, "DisassociateRouteTable", err)),
        }
    });
    futures_util::future::try_join_all(leave).await?;
    Ok(())
}

async fn converge(
    c: &Clients,
    t: &Target,
    id: &str,
    have: &Seen,
    p: &Props,
) -> Result<Vec<(String, String)>, CloudError> {
    let gw = p.gateway_id.as_str();
    // The route and each association are independent of one another: made together.
    let route = async {
        // The table needed only the gateway's id to be made; its route needs the gateway
        // attached to the VPC (AWS refuses one to a gateway of another network).
        if have.gateway.as_deref() != Some(gw) {
            t.early_deps_done("CreateRoute").await?;
        }
        match &have.gateway {
            None => {
                super::retry::until_visible(t, "CreateRoute", || async {
                    c.ec2
                        .create_route()
                        .route_table_id(id)
                        .destination_cidr_block(ANYWHERE)
                        .gateway_id(gw)
                        .send()
                        .await
                        .map_err(|e| cloud(&t.id, "CreateRoute", e))
                })
                .await?;
            }
            Some(g) if g != gw => {
                c.ec2
                    .replace_route()
                    .route_table_id(id)
                    .destination_cidr_block(ANYWHERE)
                    .gateway_id(gw)
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "ReplaceRoute", e))?;
            }
            Some(_) => {}
        }
        Ok::<_, CloudError>(())
    };
    let want = p.subnet_ids.clone();
    let leave: Vec<String> = have
        .subnets
        .iter()
        .filter(|(subnet, _)| !want.contains(subnet))
        .map(|(_, assoc)| assoc.clone())
        .collect();
    let join = want
        .iter()
        .filter(|w| !have.subnets.iter().any(|(s, _)| s == *w))
        .map(|subnet| {
            super::retry::until_visible(t, "AssociateRouteTable", move || async move {
                c.ec2
                    .associate_route_table()
                    .route_table_id(id)
                    .subnet_id(subnet)
                    .send()
                    .await
                    .map(|out| {
                        let assoc = out.association_id().unwrap_or_default().to_string();
                        (subnet.clone(), assoc)
                    })
                    .map_err(|e| cloud(&t.id, "AssociateRouteTable", e))
            })
        });
    let (_, _, joined) = tokio::try_join!(
        route,
        disassociate(c, t, &leave),
        futures_util::future::try_join_all(join)
    )?;
    // What the table is associated with now, for `down` to remove without reading first.
    Ok(have
        .subnets
        .iter()
        .filter(|(subnet, _)| want.contains(subnet))
        .cloned()
        .chain(joined)
        .collect())
}

async fn describe(c: &Clients, id: &str, rid: &str) -> Result<Option<SdkRouteTable>, CloudError> {
    Ok(found(
        c.ec2
            .describe_route_tables()
            .route_table_ids(rid)
            .send()
            .await,
        NOT_FOUND,
        id,
        "DescribeRouteTables",
    )?
    .and_then(|o| o.route_tables().first().cloned()))
}

impl Owned for RouteTable {
    type Props = Props;
    const LABEL: &'static str = "route table";
    const REPLACE_ON: &'static [&'static str] = &["vpc_id"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;
    // Made in the VPC and associated with subnets by their ids alone, while the gateway is
    // being attached (the route waits for that); once disassociated, the subnets'
    // deletions need not wait for the table's.
    const EARLY: &'static [crate::resources::Kind] = &[
        crate::resources::Kind::Vpc,
        crate::resources::Kind::Subnet,
        crate::resources::Kind::InternetGateway,
    ];
    const LETS_GO: &'static [crate::resources::Kind] = &[crate::resources::Kind::Subnet];

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|rt| {
            let seen = observe(&rt);
            let subnets: Vec<Json> = seen.subnets.iter().map(|(s, _)| json!(s)).collect();
            super::props::outputs(&[
                ("vpc_id", json!(rt.vpc_id())),
                ("gateway_id", json!(seen.gateway)),
                (
                    "subnet_ids",
                    ordered_like(subnets, e.props.get("subnet_ids")),
                ),
            ])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let found = crate::ec2_earlier!(
            c,
            t,
            describe_route_tables,
            DescribeRouteTablesOutput,
            "DescribeRouteTables"
        )?;
        let existing = found.route_tables().first().cloned();
        let id = match &existing {
            Some(rt) => rt.route_table_id().unwrap_or_default().to_string(),
            None => c
                .ec2
                .create_route_table()
                .vpc_id(p.vpc_id.as_str())
                .tag_specifications(spec(ResourceType::RouteTable, t, Some(p.name.as_str())))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateRouteTable", e))?
                .route_table()
                .and_then(|r| r.route_table_id())
                .unwrap_or_default()
                .to_string(),
        };
        let have = existing.as_ref().map(observe).unwrap_or_default();
        t.record.created(&id, &[("id", json!(id))]).await?;
        let joined = converge(c, t, &id, &have, p).await?;
        applied(
            &id,
            &[("id", json!(id)), ("associations", associations(&joined))],
        )
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let rt = describe(c, &t.id, &e.physical_id).await?;
        let have = rt.as_ref().map(observe).unwrap_or_default();
        let joined = converge(c, t, &e.physical_id, &have, p).await?;
        let mut a = super::props::unchanged(e);
        a.outputs
            .insert("associations".into(), associations(&joined));
        Ok(a)
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        // The associations this run or an earlier one made are in the outputs: removed at
        // once, no read first. If AWS still refuses (one made by hand, or an older state
        // without them), the table is read and whatever it holds is removed.
        if let Some(known) = e.outputs.get("associations").and_then(Json::as_object) {
            let known: Vec<String> = known
                .values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            disassociate(c, t, &known).await?;
            t.released();
            let first = c
                .ec2
                .delete_route_table()
                .route_table_id(&e.physical_id)
                .send()
                .await;
            match first {
                Err(err) if is_code(&err, &["DependencyViolation"]) => {}
                other => return gone(other, NOT_FOUND, &t.id, "DeleteRouteTable"),
            }
        }
        let Some(rt) = describe(c, &t.id, &e.physical_id).await? else {
            return Ok(());
        };
        let held: Vec<String> = observe(&rt).subnets.into_iter().map(|(_, a)| a).collect();
        disassociate(c, t, &held).await?;
        t.released();
        gone(
            c.ec2
                .delete_route_table()
                .route_table_id(&e.physical_id)
                .send()
                .await,
            NOT_FOUND,
            &t.id,
            "DeleteRouteTable",
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
            describe_route_tables,
            "DescribeRouteTables",
            route_tables,
            route_table_id,
            |r: &SdkRouteTable| [
                ("id", json!(r.route_table_id())),
                ("associations", associations(&observe(r).subnets)),
            ]
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
