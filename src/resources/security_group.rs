//! Security groups: ingress from CIDR ranges or from other groups; AWS's default egress.

use super::ec2_tags::{filter, spec};
use super::error::{cloud, found, gone, own};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once, released_on,
};
use super::props::{applied, ordered_like, s};
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, ResourceType, SecurityGroup as SdkSecurityGroup, UserIdGroupPair,
};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Security group.
pub struct SecurityGroup;

crate::props! {
    for SecurityGroup;
    pub struct Props / Desired {
        pub vpc_id: String,
        pub group_name: String,
        pub description: String,
        pub ingress: Vec<Rule>,
    }
}

crate::props! {
    /// One ingress rule: a port from a CIDR range or from another group (`self`: this one).
    pub struct Rule / RuleDesired {
        pub protocol: String,
        pub port: i64,
        /// The last port of a range (`port` is the first); one port when left out.
        pub to_port: Option<i64>,
        pub cidr: Option<String>,
        pub source_group_id: Option<String>,
        pub description: Option<String>,
    }
}

/// How long a deletion waits for interfaces to let go of the group.
const RELEASE: Duration = Duration::from_secs(300);

const NOT_FOUND: &[&str] = &["InvalidGroup.NotFound", "InvalidGroupId.NotFound"];

/// One ingress rule, normalized: {protocol, port, cidr | source_group_id, description}.
fn rule(
    protocol: &str,
    (port, to_port): (i64, i64),
    cidr: Option<&str>,
    group: Option<&str>,
    desc: Option<&str>,
) -> Json {
    let mut m = Map::new();
    m.insert("protocol".into(), json!(protocol));
    m.insert("port".into(), json!(port));
    if to_port != port {
        m.insert("to_port".into(), json!(to_port));
    }
    if let Some(c) = cidr {
        m.insert("cidr".into(), json!(c));
    }
    if let Some(g) = group {
        m.insert("source_group_id".into(), json!(g));
    }
    m.insert(
        "description".into(),
        desc.filter(|d| !d.is_empty())
            .map_or(Json::Null, |d| json!(d)),
    );
    Json::Object(m)
}

/// Desired rules with `self` replaced by the group's own id.
fn wanted(p: &Props, own_id: &str) -> Vec<Json> {
    p.ingress
        .iter()
        .map(|r| {
            let source = match r.source_group_id.as_deref() {
                Some("self") => Some(own_id),
                other => other,
            };
            rule(
                &r.protocol,
                (r.port, r.to_port.unwrap_or(r.port)),
                r.cidr.as_deref(),
                source,
                r.description.as_deref(),
            )
        })
        .collect()
}

/// The group of this name in the VPC: ours (made by a run that stopped before recording
/// it), or an error when it belongs to someone else.
async fn named(c: &Clients, t: &Target, p: &Props) -> Result<Option<String>, CloudError> {
    let (name, vpc) = (p.group_name.as_str(), p.vpc_id.as_str());
    let found = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc))
        .filters(filter("group-name", name))
        .send()
        .await
        .map_err(|e| cloud(&t.id, "DescribeSecurityGroups", e))?;
    let Some(g) = found.security_groups().first() else {
        return Ok(None);
    };
    if !super::owned_by(&crate::tag_pairs!(g.tags()), t) {
        return Err(own(
            &t.id,
            "CreateSecurityGroup",
            format!(
                "a security group named {name} already exists in {vpc} and does not belong to stack {}",
                t.stack
            ),
            "rename the group in the stack file, or delete the existing one if it is unused",
        ));
    }
    Ok(g.group_id().map(str::to_string))
}

fn rules_of(g: &SdkSecurityGroup) -> Vec<Json> {
    let mut out = Vec::new();
    for perm in g.ip_permissions() {
        let proto = perm.ip_protocol().unwrap_or("tcp");
        let from = i64::from(perm.from_port().unwrap_or(0));
        let ports = (from, perm.to_port().map_or(from, i64::from));
        for r in perm.ip_ranges() {
            out.push(rule(proto, ports, r.cidr_ip(), None, r.description()));
        }
        for pair in perm.user_id_group_pairs() {
            out.push(rule(
                proto,
                ports,
                None,
                pair.group_id(),
                pair.description(),
            ));
        }
    }
    out
}

fn permission(r: &Json) -> IpPermission {
    let port = r.get("port").and_then(Json::as_i64).unwrap_or(0) as i32;
    let to_port = r
        .get("to_port")
        .and_then(Json::as_i64)
        .map_or(port, |p| p as i32);
    let desc = r.get("description").and_then(Json::as_str);
    let mut b = IpPermission::builder()
        .ip_protocol(s(r, "protocol"))
        .from_port(port)
        .to_port(to_port);
    if let Some(c) = r.get("cidr").and_then(Json::as_str) {
        b = b.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(desc.map(Into::into))
                .build(),
        );
    }
    if let Some(g) = r.get("source_group_id").and_then(Json::as_str) {
        b = b.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(desc.map(Into::into))
                .build(),
        );
    }
    b.build()
}

async fn converge(
    c: &Clients,
    t: &Target,
    id: &str,
    have: &[Json],
    want: &[Json],
) -> Result<(), CloudError> {
    let revoke: Vec<IpPermission> = have
        .iter()
        .filter(|r| !want.contains(r))
        .map(permission)
        .collect();
    let grant: Vec<IpPermission> = want
        .iter()
        .filter(|r| !have.contains(r))
        .map(permission)
        .collect();
    if !revoke.is_empty() {
        c.ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(revoke))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "RevokeSecurityGroupIngress", e))?;
    }
    if !grant.is_empty() {
        super::retry::until_visible(t, "AuthorizeSecurityGroupIngress", || async {
            c.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(grant.clone()))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "AuthorizeSecurityGroupIngress", e))
        })
        .await?;
    }
    Ok(())
}

async fn describe(
    c: &Clients,
    id: &str,
    gid: &str,
) -> Result<Option<SdkSecurityGroup>, CloudError> {
    Ok(found(
        c.ec2.describe_security_groups().group_ids(gid).send().await,
        NOT_FOUND,
        id,
        "DescribeSecurityGroups",
    )?
    .and_then(|o| o.security_groups().first().cloned()))
}

/// A group as AWS reports it, in the shape of its props.
fn observe(g: &SdkSecurityGroup, e: &Entry) -> Fields {
    // Compare in the applied shape: `self` stands for the group's own id.
    let gid = g.group_id().unwrap_or_default().to_string();
    let rules: Vec<Json> = rules_of(g)
        .into_iter()
        .map(|mut r| {
            if r.get("source_group_id").and_then(Json::as_str) == Some(gid.as_str()) {
                r["source_group_id"] = json!("self");
            }
            r
        })
        .collect();
    let applied_rules = e.props.get("ingress").map(|a| {
        Json::Array(
            a.as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let port = r.get("port").and_then(Json::as_i64).unwrap_or(0);
                    let to_port = r.get("to_port").and_then(Json::as_i64).unwrap_or(port);
                    rule(
                        s(r, "protocol"),
                        (port, to_port),
                        r.get("cidr").and_then(Json::as_str),
                        r.get("source_group_id").and_then(Json::as_str),
                        r.get("description").and_then(Json::as_str),
                    )
                })
                .collect(),
        )
    });
    super::props::outputs(&[
        ("vpc_id", json!(g.vpc_id())),
        // Not compared: a name cannot change in place, and a replacement's new
        // group carries a suffix the file does not (see `fresh_name`).
        ("description", json!(g.description())),
        ("ingress", ordered_like(rules, applied_rules.as_ref())),
    ])
}

impl Owned for SecurityGroup {
    type Props = Props;
    const LABEL: &'static str = "security group";
    const REPLACE_ON: &'static [&'static str] = &["vpc_id", "group_name", "description"];
    // Services keep using the old group until they are moved to the new one.
    const REPLACEMENT: Replacement = Replacement::CreateFirst;
    const KEEPS_REVISIONS: bool = false;
    // Made inside the VPC: its id is all it needs, not the VPC's DNS settings.
    const EARLY: &'static [crate::resources::Kind] = &[crate::resources::Kind::Vpc];

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(describe(c, id, &e.physical_id)
            .await?
            .map(|g| observe(&g, e)))
    }

    const BATCHES: bool = true;

    /// Up to 200 groups a call, by a `group-id` filter (which, unlike `GroupIds`, does not
    /// fail the whole call when one of them is gone).
    async fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> Result<Vec<Option<Fields>>, CloudError> {
        crate::ec2_read_many!(
            c,
            items,
            describe_security_groups,
            "DescribeSecurityGroups",
            "group-id",
            security_groups,
            group_id,
            observe
        )
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let name = p.group_name.as_str();
        // Discovery found none of ours: create at once; a group of that name (someone
        // else's) makes AWS refuse with a duplicate, and is looked at then.
        let earlier = if t.absent {
            None
        } else {
            named(c, t, p).await?
        };
        let (id, fresh) = match earlier {
            Some(id) => (id, false),
            None => match c
                .ec2
                .create_security_group()
                .group_name(name)
                .description(p.description.as_str())
                .vpc_id(p.vpc_id.as_str())
                .tag_specifications(spec(ResourceType::SecurityGroup, t, Some(name)))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateSecurityGroup", e))
            {
                Ok(out) => (out.group_id().unwrap_or_default().to_string(), true),
                Err(e) if t.absent && e.code.as_deref() == Some("InvalidGroup.Duplicate") => {
                    (named(c, t, p).await?.ok_or(e)?, false)
                }
                Err(e) => return Err(e),
            },
        };
        t.record
            .created(&id, &[("id", json!(id)), ("name", json!(name))])
            .await?;
        // A new group has no ingress rules: nothing to read.
        let have = if fresh {
            Vec::new()
        } else {
            describe(c, &t.id, &id)
                .await?
                .map(|g| rules_of(&g))
                .unwrap_or_default()
        };
        converge(c, t, &id, &have, &wanted(p, &id)).await?;
        applied(&id, &[("id", json!(id)), ("name", json!(name))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let have = describe(c, &t.id, &e.physical_id)
            .await?
            .map(|g| rules_of(&g))
            .unwrap_or_default();
        converge(c, t, &e.physical_id, &have, &wanted(p, &e.physical_id)).await?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        // The old group of a replacement is held by its former users' interfaces until
        // their tasks have stopped: wait for that rather than be refused. Past the budget,
        // the delete's own retries still say what holds it.
        if t.superseded {
            let released = || async {
                let held = super::ec2_tags::holders(c, "group-id", &e.physical_id).await;
                Ok(if held.is_empty() {
                    Poll::Ready(())
                } else {
                    Poll::Pending(format!("waiting for AWS to release it{held}"))
                })
            };
            let _ = wait::until(t, "DeleteSecurityGroup", Budget::release(RELEASE), released).await;
        }
        super::retry::while_in_use::<Self, _, _>(t, "DeleteSecurityGroup", || async {
            let result = gone(
                c.ec2
                    .delete_security_group()
                    .group_id(&e.physical_id)
                    .send()
                    .await,
                NOT_FOUND,
                &t.id,
                "DeleteSecurityGroup",
            );
            match result {
                // Say what holds it: usually the interface of a task that is still stopping.
                Err(mut err) if err.code.as_deref() == Some("DependencyViolation") => {
                    err.message
                        .push_str(&super::ec2_tags::holders(c, "group-id", &e.physical_id).await);
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

    /// Group names are unique in a VPC, and the old group lives on until its users moved.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        crate::ec2_discover!(
            c,
            stack,
            describe_security_groups,
            "DescribeSecurityGroups",
            security_groups,
            group_id,
            |r: &SdkSecurityGroup| [("id", json!(r.group_id())), ("name", json!(r.group_name()))]
        )
    }

    fn classify(e: &CloudError) -> Retry {
        released_on(e, super::retry::EC2_IN_USE)
    }

    fn fresh_name(p: &mut Props, suffix: &str) {
        p.group_name = format!("{}-{suffix}", p.group_name);
    }

    fn plan_note(change: Change, _e: Option<&Entry>) -> Option<String> {
        (change == Change::Replace).then(|| {
            "the new group is created first as `<name>-<4 hex>` (names are unique in a VPC), \
             what uses the old one is moved to it, then the old one is deleted"
                .to_string()
        })
    }
}
