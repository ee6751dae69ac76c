//! The RDS database. Its master password is made and kept by RDS in Secrets Manager
//! (ManageMasterUserPassword), so provision never sees it. Creation waits until the
//! instance is available, since its endpoint exists only then.

use super::db_subnet_group::rds_tags;
use super::error::{cloud, found, own};
use super::foreign;
use super::props::{b, i, list, opt_s, ordered_like, s};
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_rds::types::DbInstance;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

const NOT_FOUND: &[&str] = &["DBInstanceNotFound", "DBInstanceNotFoundFault"];
const PATIENCE: Duration = Duration::from_secs(60 * 60);

async fn describe(c: &Clients, id: &str, ident: &str) -> Result<Option<DbInstance>, CloudError> {
    let got = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(ident)
        .send()
        .await;
    Ok(found(got, NOT_FOUND, id, "DescribeDBInstances")?
        .and_then(|o| o.db_instances().first().cloned()))
}

fn outputs(db: &DbInstance) -> Applied {
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

/// Polls until the instance is `available`, reporting each new status.
async fn wait_available(c: &Clients, t: &Target, ident: &str) -> Result<DbInstance, CloudError> {
    let budget = Budget::new(PATIENCE, Duration::from_secs(2), Duration::from_secs(30))
        .saying("still not available");
    wait::until(t, "creating the database", budget, || async {
        let db = describe(c, &t.id, ident).await?.ok_or_else(|| {
            own(
                &t.id,
                "waiting for the database",
                "the instance disappeared while being created",
                "look at the RDS console's events",
            )
        })?;
        let status = db.db_instance_status().unwrap_or("?").to_string();
        if status == "available" && db.endpoint().and_then(|e| e.address()).is_some() {
            return Ok(Poll::Ready(db));
        }
        if matches!(
            status.as_str(),
            "failed" | "incompatible-parameters" | "incompatible-network" | "storage-full"
        ) {
            return Ok(Poll::Failed(own(
                &t.id,
                "creating the database",
                format!("the instance is {status}"),
                "look at the RDS console's events for the reason",
            )));
        }
        Ok(Poll::Pending(status))
    })
    .await
}

pub async fn create(c: &Clients, t: &Target, p: &Json) -> Result<Applied, CloudError> {
    let ident = s(p, "identifier");
    if let Some(db) = describe(c, &t.id, ident).await? {
        let tags: Vec<(String, String)> = db
            .tag_list()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().into(),
                    t.value().unwrap_or_default().into(),
                )
            })
            .collect();
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
            .engine(s(p, "engine"))
            .set_engine_version(opt_s(p, "engine_version").map(str::to_string))
            .db_instance_class(s(p, "instance_class"))
            .allocated_storage(i(p, "storage_gb").unwrap_or(20) as i32)
            .db_name(s(p, "db_name"))
            .master_username(s(p, "username"))
            .manage_master_user_password(true)
            .db_subnet_group_name(s(p, "subnet_group"))
            .set_vpc_security_group_ids(Some(list(p, "security_group_ids")))
            .publicly_accessible(b(p, "publicly_accessible"))
            .storage_encrypted(true)
            .set_backup_retention_period(i(p, "backup_retention_days").map(|d| d as i32))
            .copy_tags_to_snapshot(true)
            .set_tags(Some(rds_tags(t)))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateDBInstance", e))?;
    }
    Ok(outputs(&wait_available(c, t, ident).await?))
}

pub async fn read(
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
        (Some(want), Some(have)) if have.starts_with(want) => Some(want.to_string()),
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

pub async fn update(c: &Clients, t: &Target, e: &Entry, p: &Json) -> Result<Applied, CloudError> {
    c.rds
        .modify_db_instance()
        .db_instance_identifier(&e.physical_id)
        .db_instance_class(s(p, "instance_class"))
        .allocated_storage(i(p, "storage_gb").unwrap_or(20) as i32)
        .set_engine_version(opt_s(p, "engine_version").map(str::to_string))
        .set_vpc_security_group_ids(Some(list(p, "security_group_ids")))
        .set_backup_retention_period(i(p, "backup_retention_days").map(|d| d as i32))
        .publicly_accessible(b(p, "publicly_accessible"))
        .apply_immediately(true)
        .send()
        .await
        .map_err(|err| cloud(&t.id, "ModifyDBInstance", err))?;
    Ok(outputs(&wait_available(c, t, &e.physical_id).await?))
}

/// The name of the final snapshot `down` takes, unique per deletion.
pub fn final_snapshot_name(ident: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{ident}-final-{secs}")
}

pub async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
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
            Some(db) => Poll::Pending(db.db_instance_status().unwrap_or("deleting").to_string()),
            None => Poll::Ready(()),
        })
    })
    .await
}
