//! The RDS database. Its master password is made and kept by RDS in Secrets Manager
//! (ManageMasterUserPassword), so provision never sees it. Creation waits until the
//! instance is available, since its endpoint exists only then.

use super::db_subnet_group::rds_tags;
use super::error::{cloud, found, own};
use super::foreign;
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::{b, opt_s, ordered_like};
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_rds::types::{DbInstance as SdkDbInstance, PendingModifiedValues};
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// RDS database.
pub struct DbInstance;

crate::props! {
    for DbInstance;
    pub struct Props / Desired {
        pub identifier: String,
        pub engine: String,
        pub engine_version: Option<String>,
        pub instance_class: String,
        pub storage_gb: i64,
        pub db_name: String,
        pub username: String,
        pub subnet_group: String,
        pub security_group_ids: Vec<String>,
        pub publicly_accessible: bool,
        pub final_snapshot: bool,
        pub backup_retention_days: Option<i64>,
    }
}

const NOT_FOUND: &[&str] = &["DBInstanceNotFound", "DBInstanceNotFoundFault"];
const PATIENCE: Duration = Duration::from_secs(60 * 60);

async fn describe(c: &Clients, id: &str, ident: &str) -> Result<Option<SdkDbInstance>, CloudError> {
    let got = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(ident)
        .send()
        .await;
    Ok(found(got, NOT_FOUND, id, "DescribeDBInstances")?
        .and_then(|o| o.db_instances().first().cloned()))
}

fn outputs(db: &SdkDbInstance) -> Applied {
    let secret = db
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .unwrap_or_default();
    let ident = db.db_instance_identifier().unwrap_or_default();
    Applied {
        physical_id: ident.to_string(),
        outputs: super::props::outputs(&[
            ("arn", json!(db.db_instance_arn())),
            ("endpoint", json!(db.endpoint().and_then(|e| e.address()))),
            ("port", json!(db.endpoint().and_then(|e| e.port()))),
            ("username", json!(db.master_username())),
            ("db_name", json!(db.db_name())),
            ("secret_arn", json!(secret)),
            // For a container secret: the `password` key of the secret's JSON value.
            ("password_secret", json!(format!("{secret}:password::"))),
        ]),
    }
}

/// What a wait on the instance waits for.
#[derive(Clone, Copy, PartialEq)]
enum Until {
    /// `available` with an endpoint: made, or free to take a snapshot or a modification.
    Available,
    /// Available with no modification pending: a modify has really been applied.
    NothingPending,
}

/// Polls until the instance is as `until` asks, reporting each new status.
async fn wait_until(
    c: &Clients,
    t: &Target,
    ident: &str,
    until: Until,
) -> Result<SdkDbInstance, CloudError> {
    let budget = Budget::new(PATIENCE, Duration::from_secs(2), Duration::from_secs(30))
        .saying("still not available");
    let what = match until {
        Until::Available => "waiting for the database to be available",
        Until::NothingPending => "waiting for the modification to be applied",
    };
    wait::until(t, what, budget, || async {
        let db = describe(c, &t.id, ident).await?.ok_or_else(|| {
            own(
                &t.id,
                what,
                "the instance disappeared while waiting",
                "look at the RDS console's events",
            )
        })?;
        let status = db.db_instance_status().unwrap_or("?").to_string();
        let pending = db
            .pending_modified_values()
            .is_some_and(|p| *p != PendingModifiedValues::builder().build());
        let available = status == "available" && db.endpoint().and_then(|e| e.address()).is_some();
        if available && !(until == Until::NothingPending && pending) {
            return Ok(Poll::Ready(db));
        }
        if matches!(
            status.as_str(),
            "failed" | "incompatible-parameters" | "incompatible-network" | "storage-full"
        ) {
            return Ok(Poll::Failed(own(
                &t.id,
                what,
                format!("the instance is {status}"),
                "look at the RDS console's events for the reason",
            )));
        }
        Ok(Poll::Pending(if available {
            "available, with a modification still pending".into()
        } else {
            status
        }))
    })
    .await
}

/// Whether a running version satisfies the asked one: "8.0" is met by "8.0.39", the minor
/// upgrades AWS applies on its own.
fn version_meets(have: &str, want: &str) -> bool {
    have == want || have.starts_with(&format!("{want}."))
}

/// The fields a modification sends: those where the live instance differs from the file.
#[derive(Default)]
struct Changes {
    instance_class: Option<String>,
    storage_gb: Option<i32>,
    engine_version: Option<String>,
    security_group_ids: Option<Vec<String>>,
    backup_retention_days: Option<i32>,
    publicly_accessible: Option<bool>,
}

impl Changes {
    fn between(live: &SdkDbInstance, p: &Props) -> Changes {
        let mut live_groups: Vec<&str> = live
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect();
        let mut want_groups: Vec<&str> = p.security_group_ids.iter().map(String::as_str).collect();
        live_groups.sort_unstable();
        want_groups.sort_unstable();
        Changes {
            instance_class: (live.db_instance_class() != Some(p.instance_class.as_str()))
                .then(|| p.instance_class.clone()),
            storage_gb: (live.allocated_storage().map(i64::from) != Some(p.storage_gb))
                .then_some(p.storage_gb as i32),
            engine_version: p
                .engine_version
                .clone()
                .filter(|want| !want.is_empty())
                .filter(|want| {
                    !live
                        .engine_version()
                        .is_some_and(|have| version_meets(have, want))
                }),
            security_group_ids: (live_groups != want_groups).then(|| p.security_group_ids.clone()),
            backup_retention_days: p
                .backup_retention_days
                .map(|d| d as i32)
                .filter(|d| live.backup_retention_period() != Some(*d)),
            publicly_accessible: (live.publicly_accessible() != Some(p.publicly_accessible))
                .then_some(p.publicly_accessible),
        }
    }

    fn names(&self) -> Vec<&'static str> {
        [
            ("instance_class", self.instance_class.is_some()),
            ("storage_gb", self.storage_gb.is_some()),
            ("engine_version", self.engine_version.is_some()),
            ("security_groups", self.security_group_ids.is_some()),
            (
                "backup_retention_days",
                self.backup_retention_days.is_some(),
            ),
            ("publicly_accessible", self.publicly_accessible.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect()
    }

    fn is_empty(&self) -> bool {
        self.names().is_empty()
    }
}

/// The name of the final snapshot `down` takes, unique per deletion.
pub fn final_snapshot_name(ident: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{ident}-final-{secs}")
}

impl Owned for DbInstance {
    type Props = Props;
    const LABEL: &'static str = "RDS database";
    const REPLACE_ON: &'static [&'static str] = &[
        "identifier",
        "engine",
        "db_name",
        "username",
        "subnet_group",
    ];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let Some(db) = describe(c, id, &e.physical_id).await? else {
            return Ok(None);
        };
        if db.db_instance_status() == Some("deleting") {
            return Ok(None);
        }
        let groups: Vec<Json> = db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .map(|g| json!(g))
            .collect();
        // A version asked as "8.0" runs as "8.0.39": the same as far as the file says.
        let version = match (opt_s(&e.props, "engine_version"), db.engine_version()) {
            (Some(want), Some(have)) if version_meets(have, want) => Some(want.to_string()),
            (_, have) => have
                .map(str::to_string)
                .filter(|_| e.props.get("engine_version").is_some_and(|v| !v.is_null())),
        };
        Ok(Some(super::props::outputs(&[
            ("engine", json!(db.engine())),
            ("engine_version", json!(version)),
            ("instance_class", json!(db.db_instance_class())),
            ("storage_gb", json!(db.allocated_storage())),
            ("db_name", json!(db.db_name())),
            ("username", json!(db.master_username())),
            (
                "subnet_group",
                json!(db.db_subnet_group().and_then(|g| g.db_subnet_group_name())),
            ),
            (
                "security_group_ids",
                ordered_like(groups, e.props.get("security_group_ids")),
            ),
            ("publicly_accessible", json!(db.publicly_accessible())),
        ])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let ident = p.identifier.as_str();
        if let Some(db) = describe(c, &t.id, ident).await? {
            let tags = crate::tag_pairs!(db.tag_list());
            if !super::owned_by(&tags, t) {
                return Err(foreign(
                    t,
                    "CreateDBInstance",
                    format!("a database named {ident}"),
                    "rename the database in the stack file",
                ));
            }
        } else {
            c.rds
                .create_db_instance()
                .db_instance_identifier(ident)
                .engine(p.engine.as_str())
                .set_engine_version(
                    p.engine_version
                        .as_deref()
                        .filter(|v| !v.is_empty())
                        .map(str::to_string),
                )
                .db_instance_class(p.instance_class.as_str())
                .allocated_storage(p.storage_gb as i32)
                .db_name(p.db_name.as_str())
                .master_username(p.username.as_str())
                .manage_master_user_password(true)
                .db_subnet_group_name(p.subnet_group.as_str())
                .set_vpc_security_group_ids(Some(p.security_group_ids.clone()))
                .publicly_accessible(p.publicly_accessible)
                .storage_encrypted(true)
                .set_backup_retention_period(p.backup_retention_days.map(|d| d as i32))
                .copy_tags_to_snapshot(true)
                .set_tags(Some(rds_tags(t)))
                .send()
                .await
                .map_err(|e| cloud(&t.id, "CreateDBInstance", e))?;
        }
        Ok(outputs(&wait_until(c, t, ident, Until::Available).await?))
    }

    /// Sends only what differs from the live instance: RDS takes every field it is sent as a
    /// change to make (an engine version "8.0" sent back would ask to leave 8.0.39).
    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let live = describe(c, &t.id, &e.physical_id).await?.ok_or_else(|| {
            own(
                &t.id,
                "ModifyDBInstance",
                "the instance is gone",
                "run `provision up` again to create it",
            )
        })?;
        // AWS refuses a modification while the instance is busy (backing up, modifying).
        let live = if live.db_instance_status() == Some("available") {
            live
        } else {
            wait_until(c, t, &e.physical_id, Until::Available).await?
        };
        let changes = Changes::between(&live, p);
        if changes.is_empty() {
            return Ok(outputs(&live));
        }
        t.progress
            .say(format!("modifying {}", changes.names().join(", ")));
        c.rds
            .modify_db_instance()
            .db_instance_identifier(&e.physical_id)
            .set_db_instance_class(changes.instance_class)
            .set_allocated_storage(changes.storage_gb)
            .set_engine_version(changes.engine_version)
            .set_vpc_security_group_ids(changes.security_group_ids)
            .set_backup_retention_period(changes.backup_retention_days)
            .set_publicly_accessible(changes.publicly_accessible)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|err| cloud(&t.id, "ModifyDBInstance", err))?;
        Ok(outputs(
            &wait_until(c, t, &e.physical_id, Until::NothingPending).await?,
        ))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let Some(db) = describe(c, &t.id, &e.physical_id).await? else {
            return Ok(());
        };
        if db.db_instance_status() != Some("deleting") {
            let snapshot = b(&e.props, "final_snapshot");
            let mut req = c
                .rds
                .delete_db_instance()
                .db_instance_identifier(&e.physical_id)
                .skip_final_snapshot(!snapshot)
                .delete_automated_backups(true);
            if snapshot {
                // RDS takes no snapshot while the instance backs up or is modified.
                if let Some(busy) = db.db_instance_status().filter(|s| *s != "available") {
                    t.progress.say(format!(
                        "the instance is {busy}: RDS takes a final snapshot only once it is available"
                    ));
                    wait_until(c, t, &e.physical_id, Until::Available).await?;
                }
                let name = final_snapshot_name(&e.physical_id);
                t.progress.say(format!("taking the final snapshot {name}"));
                req = req.final_db_snapshot_identifier(name);
            }
            match req.send().await {
                Ok(_) => {}
                Err(err) if super::error::is_code(&err, NOT_FOUND) => return Ok(()),
                Err(err) => return Err(cloud(&t.id, "DeleteDBInstance", err)),
            }
        }
        // The subnet group and security groups are in use until the instance is gone.
        let budget = Budget::new(PATIENCE, Duration::from_secs(2), Duration::from_secs(30));
        wait::until(t, "DeleteDBInstance", budget, || async {
            Ok(match describe(c, &t.id, &e.physical_id).await? {
                Some(db) => {
                    Poll::Pending(db.db_instance_status().unwrap_or("deleting").to_string())
                }
                None => Poll::Ready(()),
            })
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
        let mut out = Vec::new();
        let mut pages = c.rds.describe_db_instances().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "DescribeDBInstances", e))?;
            for db in page.db_instances() {
                let tags = crate::tag_pairs!(db.tag_list());
                out.extend(
                    super::found_in(&tags, stack, db.db_instance_identifier()).map(|mut f| {
                        f.outputs = outputs(db).outputs;
                        f
                    }),
                );
            }
        }
        Ok(out)
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    /// Whether the data survives a deletion.
    fn plan_note(change: Change, e: Option<&Entry>) -> Option<String> {
        let e = e.filter(|_| change == Change::Delete)?;
        Some(
            match e.props.get("final_snapshot").and_then(Json::as_bool) {
                Some(false) => {
                    "no final snapshot is taken (final_snapshot: false): the data is gone for good"
                        .into()
                }
                _ => format!(
                    "a final snapshot `{}-final-<time>` is taken first, and kept",
                    e.physical_id
                ),
            },
        )
    }
}
