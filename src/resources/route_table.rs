//! The public route table: a default route to the internet gateway, which the table
//! attaches to the VPC while it is made (and detaches when it goes). Its subnets are
//! associated by `route_table_association`, each as soon as the table and the subnet
//! have ids.

use super::ec2_tags::spec;
use super::error::{cloud, found, gone, is_code};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable as SdkRouteTable};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Route table.
pub struct RouteTable;

crate::props! {
    for RouteTable;
    pub struct Props / Desired {
        pub vpc_id: String,
        pub gateway_id: String,
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
        subnets: held(rt)
            .into_iter()
            .map(|(assoc, subnet)| (subnet, assoc))
            .collect(),
    }
}

/// (association id, subnet) of a table's explicit subnet associations.
pub(super) fn held(rt: &SdkRouteTable) -> Vec<(String, String)> {
    rt.associations()
        .iter()
        .filter(|a| !a.main().unwrap_or(false))
        .filter_map(|a| {
            Some((
                a.route_table_association_id()?.to_string(),
                a.subnet_id()?.to_string(),
            ))
        })
        .collect()
}

/// The tables matching one filter, every page; `id` names what asks, in an error.
pub(super) async fn tables(
    c: &Clients,
    id: &str,
    filter: &str,
    values: Vec<String>,
) -> Result<Vec<SdkRouteTable>, CloudError> {
    let mut out = Vec::new();
    let mut pages = c
        .ec2
        .describe_route_tables()
        .filters(
            Filter::builder()
                .name(filter)
                .set_values(Some(values))
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| cloud(id, "DescribeRouteTables", e))?;
        out.extend(page.route_tables().iter().cloned());
    }
    Ok(out)
}

/// The stack's tables, asked of AWS once per run: the tables and their associations are
/// both discovered from them.
pub(super) async fn stack_tables(
    c: &Clients,
    stack: &str,
) -> Result<Vec<SdkRouteTable>, CloudError> {
    let key = format!("route-tables/{stack}");
    let by_tag = format!("tag:{}", super::TAG_STACK);
    c.memo
        .once(&key, || tables(c, stack, &by_tag, vec![stack.to_string()]))
        .await?
        .ok_or_else(|| super::memo_bug(stack, &key))
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

/// The gateway attached to the table's VPC, unless the route through it is there already
/// (which AWS allows only when it is attached).
async fn attach(c: &Clients, t: &Target, have: &Seen, p: &Props) -> Result<(), CloudError> {
    if have.gateway.as_deref() == Some(p.gateway_id.as_str()) {
        return Ok(());
    }
    super::internet_gateway::attach(c, t, &p.gateway_id, &p.vpc_id).await
}

/// The default route through the gateway, once it is attached.
async fn route(
    c: &Clients,
    t: &Target,
    id: &str,
    have: &Seen,
    p: &Props,
) -> Result<(), CloudError> {
    let gw = p.gateway_id.as_str();
    if have.gateway.as_deref() == Some(gw) {
        return Ok(());
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
        Some(_) => {
            c.ec2
                .replace_route()
                .route_table_id(id)
                .destination_cidr_block(ANYWHERE)
                .gateway_id(gw)
                .send()
                .await
                .map_err(|e| cloud(&t.id, "ReplaceRoute", e))?;
        }
    }
    Ok(())
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
    // Made in the VPC, and the gateway attached, by their ids alone. Once the gateway is
    // detached (and, in a state written before associations were resources of their own,
    // the subnets let go of), their deletions need not wait for the table's.
    const EARLY: &'static [crate::resources::Kind] = &[
        crate::resources::Kind::Vpc,
        crate::resources::Kind::InternetGateway,
    ];
    const LETS_GO: &'static [crate::resources::Kind] = &[
        crate::resources::Kind::Subnet,
        crate::resources::Kind::InternetGateway,
    ];

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|rt| {
            super::props::outputs(&[
                ("vpc_id", json!(rt.vpc_id())),
                ("gateway_id", json!(observe(&rt).gateway)),
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
        let have = existing.as_ref().map(observe).unwrap_or_default();
        let make = async {
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
            t.record.created(&id, &[("id", json!(id))]).await?;
            Ok::<_, CloudError>(id)
        };
        // The gateway needs only to exist (EARLY): it is attached while the table is made.
        let (id, ()) = tokio::try_join!(make, attach(c, t, &have, p))?;
        route(c, t, &id, &have, p).await?;
        applied(&id, &[("id", json!(id))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let rt = describe(c, &t.id, &e.physical_id).await?;
        let have = rt.as_ref().map(observe).unwrap_or_default();
        attach(c, t, &have, p).await?;
        route(c, t, &e.physical_id, &have, p).await?;
        let mut a = super::props::unchanged(e);
        // A state from before associations were resources of their own recorded them
        // here; they are route_table_association's now.
        a.outputs.remove("associations");
        Ok(a)
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        // The gateway it attached is in its props, and the associations an older state
        // recorded in its outputs: both let go at once, no read first. If AWS still
        // refuses (an association made by hand), the table is read and emptied.
        let recorded: Vec<String> = e
            .outputs
            .get("associations")
            .and_then(Json::as_object)
            .map(|m| {
                m.values()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let str_prop = |k: &str| {
            e.props
                .get(k)
                .and_then(Json::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        // The table's deletion needs only its associations gone, not the gateway detached:
        // both at once. What depends on the table may go once it let go of both.
        let detach = async {
            if let (Some(gw), Some(vpc)) = (str_prop("gateway_id"), str_prop("vpc_id")) {
                super::internet_gateway::detach(c, t, &gw, &vpc).await?;
            }
            Ok::<_, CloudError>(())
        };
        let delete = async {
            disassociate(c, t, &recorded).await?;
            Ok::<_, CloudError>(
                c.ec2
                    .delete_route_table()
                    .route_table_id(&e.physical_id)
                    .send()
                    .await,
            )
        };
        let ((), first) = tokio::try_join!(detach, delete)?;
        t.released();
        match first {
            Err(err) if is_code(&err, &["DependencyViolation"]) => {}
            other => return gone(other, NOT_FOUND, &t.id, "DeleteRouteTable"),
        }
        let Some(rt) = describe(c, &t.id, &e.physical_id).await? else {
            return Ok(());
        };
        let held: Vec<String> = observe(&rt).subnets.into_iter().map(|(_, a)| a).collect();
        disassociate(c, t, &held).await?;
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
        Ok(stack_tables(c, stack)
            .await?
            .iter()
            .filter_map(|r| {
                let tags = super::ec2_tags::pairs(r.tags());
                super::found_in(&tags, stack, r.route_table_id())
                    .map(|f| f.with(&[("id", json!(r.route_table_id()))]))
            })
            .collect())
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, super::retry::EC2_IN_USE)
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
