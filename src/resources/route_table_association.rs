//! A subnet's association with the public route table. A resource of its own (as in
//! CloudFormation and Terraform), so that it is made as soon as the table and the subnet
//! have ids, while the table's route waits for the gateway.

use super::error::{cloud, is_code};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::RouteTable as SdkRouteTable;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Route table association.
pub struct RouteTableAssociation;

crate::props! {
    for RouteTableAssociation;
    pub struct Props / Desired {
        pub route_table_id: String,
        pub subnet_id: String,
    }
}

const NOT_FOUND: &[&str] = &["InvalidAssociationID.NotFound"];

/// The logical id of the association of the subnet whose logical id is `subnet`
/// (`subnet.public-1` -> `route_table_association.public-1`): discovery finds
/// associations through the table and names them after their subnets.
pub fn id_for(subnet: &str) -> String {
    format!(
        "route_table_association.{}",
        subnet.strip_prefix("subnet.").unwrap_or(subnet)
    )
}

/// (association id, route table, subnet) of each table's explicit subnet associations.
fn held(tables: &[SdkRouteTable]) -> impl Iterator<Item = (String, String, String)> + '_ {
    tables.iter().flat_map(|rt| {
        let table = rt.route_table_id().unwrap_or_default().to_string();
        super::route_table::held(rt)
            .into_iter()
            .map(move |(assoc, subnet)| (assoc, table.clone(), subnet))
    })
}

fn props_of(rt: &str, subnet: &str) -> Fields {
    super::props::outputs(&[("route_table_id", json!(rt)), ("subnet_id", json!(subnet))])
}

impl Owned for RouteTableAssociation {
    type Props = Props;
    const LABEL: &'static str = "route table association";
    const REPLACE_ON: &'static [&'static str] = &["route_table_id", "subnet_id"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;
    const EARLY: &'static [crate::resources::Kind] = &[
        crate::resources::Kind::RouteTable,
        crate::resources::Kind::Subnet,
    ];
    const BATCHES: bool = true;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let items = [(id.to_string(), e.clone())];
        Ok(Self::read_many(c, &items).await?.pop().flatten())
    }

    /// Every association of the stack in one call, by an association-id filter.
    async fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> Result<Vec<Option<Fields>>, CloudError> {
        let Some((first, _)) = items.first() else {
            return Ok(Vec::new());
        };
        let ids: Vec<String> = items.iter().map(|(_, e)| e.physical_id.clone()).collect();
        let mut found = std::collections::HashMap::new();
        for chunk in ids.chunks(200) {
            let tables = super::route_table::tables(
                c,
                first,
                "association.route-table-association-id",
                chunk.to_vec(),
            )
            .await?;
            for (assoc, table, subnet) in held(&tables) {
                found.insert(assoc, props_of(&table, &subnet));
            }
        }
        Ok(ids.iter().map(|i| found.get(i).cloned()).collect())
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let (rt, subnet) = (p.route_table_id.as_str(), p.subnet_id.as_str());
        let made = super::retry::until_visible(t, "AssociateRouteTable", || async {
            c.ec2
                .associate_route_table()
                .route_table_id(rt)
                .subnet_id(subnet)
                .send()
                .await
                .map(|out| out.association_id().unwrap_or_default().to_string())
                .map_err(|e| cloud(&t.id, "AssociateRouteTable", e))
        })
        .await;
        let id = match made {
            Ok(id) => id,
            // Associated already: by an earlier run that did not record it, or by a state
            // from before associations were resources of their own. Adopted if it is with
            // this table.
            Err(err) if err.code.as_deref() == Some("Resource.AlreadyAssociated") => {
                let tables = super::route_table::tables(
                    c,
                    &t.id,
                    "association.subnet-id",
                    vec![subnet.into()],
                )
                .await?;
                match held(&tables).find(|(_, table, s)| table == rt && s == subnet) {
                    Some((assoc, _, _)) => assoc,
                    None => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };
        applied(&id, &[("id", json!(id))])
    }

    async fn update(
        _c: &Clients,
        _t: &Target,
        e: &Entry,
        _p: &Props,
    ) -> Result<Applied, CloudError> {
        // Every property is replaced, never updated.
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        match c
            .ec2
            .disassociate_route_table()
            .association_id(&e.physical_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_code(&err, NOT_FOUND) => Ok(()),
            Err(err) => Err(cloud(&t.id, "DisassociateRouteTable", err)),
        }
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

    /// Associations carry no tags: they are found in the stack's tables, and named after
    /// the stack's subnets they hold.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let tables = super::route_table::stack_tables(c, stack);
        let subnets = super::discovered::<super::subnet::Subnet>(c, stack);
        let (tables, subnets) = tokio::try_join!(tables, subnets)?;
        let mut out = Vec::new();
        for (assoc, _, subnet) in held(&tables) {
            if let Some(s) = subnets.iter().find(|s| s.physical_id == subnet) {
                out.push(
                    Found {
                        id: id_for(&s.id),
                        physical_id: assoc.clone(),
                        outputs: Default::default(),
                    }
                    .with(&[("id", json!(assoc))]),
                );
            }
        }
        Ok(out)
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, super::retry::EC2_IN_USE)
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
