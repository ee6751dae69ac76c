//! The public route table: a default route to the internet gateway, and its subnets.

use super::ec2_tags::{owned_filters, spec};
use super::error::{cloud, found, gone};
use super::props::{applied, list, ordered_like, s};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::{ResourceType, RouteTable};
use serde_json::{Map, Value as Json, json};

const NOT_FOUND: &[&str] = &["InvalidRouteTableID.NotFound"];
const ANYWHERE: &str = "0.0.0.0/0";

pub async fn create(c: &Clients, t: &Target, p: &Json) -> Result<Applied, CloudError> {
    let found = c
        .ec2
        .describe_route_tables()
        .set_filters(Some(owned_filters(t)))
        .send()
        .await
        .map_err(|e| cloud(&t.id, "DescribeRouteTables", e))?;
    let existing = found.route_tables().first().cloned();
    let id = match &existing {
        Some(rt) => rt.route_table_id().unwrap_or_default().to_string(),
        None => c
            .ec2
            .create_route_table()
            .vpc_id(s(p, "vpc_id"))
            .tag_specifications(spec(ResourceType::RouteTable, t, Some(s(p, "name"))))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateRouteTable", e))?
            .route_table()
            .and_then(|r| r.route_table_id())
            .unwrap_or_default()
            .to_string(),
    };
    let have = existing.as_ref().map(observe).unwrap_or_default();
    converge(c, t, &id, &have, p).await?;
    applied(&id, &[("id", json!(id))])
}

/// (gateway of the default route, subnet -> association id)
#[derive(Default)]
struct Seen {
    gateway: Option<String>,
    subnets: Vec<(String, String)>,
}

fn observe(rt: &RouteTable) -> Seen {
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

async fn converge(
    c: &Clients,
    t: &Target,
    id: &str,
    have: &Seen,
    p: &Json,
) -> Result<(), CloudError> {
    let gw = s(p, "gateway_id");
    match &have.gateway {
        None => {
            c.ec2
                .create_route()
                .route_table_id(id)
                .destination_cidr_block(ANYWHERE)
                .gateway_id(gw)
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateRoute", e))?;
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
    let want = list(p, "subnet_ids");
    for (subnet, assoc) in &have.subnets {
        if !want.contains(subnet) {
            c.ec2
                .disassociate_route_table()
                .association_id(assoc)
                .send()
                .await
                .map_err(|e| cloud(&t.id, "DisassociateRouteTable", e))?;
        }
    }
    for subnet in want
        .iter()
        .filter(|w| !have.subnets.iter().any(|(s, _)| s == *w))
    {
        c.ec2
            .associate_route_table()
            .route_table_id(id)
            .subnet_id(subnet)
            .send()
            .await
            .map_err(|e| cloud(&t.id, "AssociateRouteTable", e))?;
    }
    Ok(())
}

async fn describe(c: &Clients, id: &str, rid: &str) -> Result<Option<RouteTable>, CloudError> {
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

pub async fn read(
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

pub async fn update(c: &Clients, t: &Target, e: &Entry, p: &Json) -> Result<Applied, CloudError> {
    let rt = describe(c, &t.id, &e.physical_id).await?;
    let have = rt.as_ref().map(observe).unwrap_or_default();
    converge(c, t, &e.physical_id, &have, p).await?;
    Ok(super::props::unchanged(e))
}

pub async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
    let Some(rt) = describe(c, &t.id, &e.physical_id).await? else {
        return Ok(());
    };
    for (_, assoc) in observe(&rt).subnets {
        c.ec2
            .disassociate_route_table()
            .association_id(assoc)
            .send()
            .await
            .map_err(|err| cloud(&t.id, "DisassociateRouteTable", err))?;
    }
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
