//! Task definitions. They are immutable: every change registers the family's next
//! revision, and `down` deregisters every revision the stack registered.

use super::ecs_cluster::ecs_tags;
use super::ecs_cluster::tags_of;
use super::error::{cloud, found, is_code};
use super::props::{applied, opt_s, s};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::{
    ApplicationProtocol, Compatibility, ContainerDefinition, CpuArchitecture, HostVolumeProperties,
    KeyValuePair, LogConfiguration, LogDriver, MountPoint, NetworkMode, OsFamily, PortMapping,
    RuntimePlatform, Secret, SortOrder, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
    TransportProtocol, Volume,
};
use serde_json::{Map, Value as Json, json};

fn int(v: &Json, key: &str) -> Option<i32> {
    v.get(key).and_then(Json::as_i64).map(|n| n as i32)
}

fn strings(v: &Json, key: &str) -> Option<Vec<String>> {
    v.get(key).and_then(Json::as_array).map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

fn container(c: &Json) -> Result<ContainerDefinition, CloudError> {
    let ports = c
        .get("port_mappings")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let port = int(p, "container_port").unwrap_or(0);
            let proto = s(p, "protocol");
            PortMapping::builder()
                .name(format!("{}-{port}-{proto}", s(c, "name")))
                .container_port(port)
                .set_host_port(int(p, "host_port"))
                .protocol(TransportProtocol::from(proto))
                .set_app_protocol(opt_s(p, "app_protocol").map(ApplicationProtocol::from))
                .build()
        })
        .collect();
    // References such as a database's port resolve to numbers; the environment is text.
    let text = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let env = c.get("environment").and_then(Json::as_object).map(|m| {
        m.iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(text(v)).build())
            .collect()
    });
    let secrets = c
        .get("secrets")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    Secret::builder()
                        .name(k)
                        .value_from(text(v))
                        .build()
                        .map_err(|e| {
                            super::error::own(
                                s(c, "name"),
                                "build secret",
                                e.to_string(),
                                "this is a bug in provision",
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let mounts = c.get("mounts").and_then(Json::as_array).map(|a| {
        a.iter()
            .map(|m| {
                MountPoint::builder()
                    .source_volume(s(m, "volume"))
                    .container_path(s(m, "path"))
                    .read_only(m.get("read_only").and_then(Json::as_bool).unwrap_or(false))
                    .build()
            })
            .collect()
    });
    let mut logs = LogConfiguration::builder().log_driver(LogDriver::Awslogs);
    if let Some(opts) = c.get("log_options").and_then(Json::as_object) {
        for (k, v) in opts {
            logs = logs.options(k, v.as_str().unwrap_or_default());
        }
    }
    let logs = logs.build().map_err(|e| {
        super::error::own(
            s(c, "name"),
            "build container",
            e.to_string(),
            "this is a bug in provision",
        )
    })?;
    Ok(ContainerDefinition::builder()
        .name(s(c, "name"))
        .image(s(c, "image"))
        .essential(c.get("essential").and_then(Json::as_bool).unwrap_or(true))
        .set_cpu(int(c, "cpu"))
        .set_memory(int(c, "memory"))
        .set_memory_reservation(int(c, "memory_reservation"))
        .set_port_mappings(Some(ports))
        .set_environment(env)
        .set_secrets(secrets)
        .set_mount_points(mounts)
        .set_command(strings(c, "command"))
        .set_entry_point(strings(c, "entry_point"))
        .log_configuration(logs)
        .build())
}

/// Host volumes: folders on the container instance that outlive the container.
fn volumes(p: &Json) -> Option<Vec<Volume>> {
    p.get("volumes").and_then(Json::as_array).map(|a| {
        a.iter()
            .map(|v| {
                Volume::builder()
                    .name(s(v, "name"))
                    .host(
                        HostVolumeProperties::builder()
                            .source_path(s(v, "host_path"))
                            .build(),
                    )
                    .build()
            })
            .collect()
    })
}

/// The family's revisions this resource registered (tagged with its stack and id), newest first.
async fn owned_revisions(
    c: &Clients,
    t: &Target,
    family: &str,
    newest_only: bool,
) -> Result<Vec<TaskDefinition>, CloudError> {
    let listed = c
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .set_max_results(newest_only.then_some(1))
        .send()
        .await
        .map_err(|e| cloud(&t.id, "ListTaskDefinitions", e))?;
    let mut owned = Vec::new();
    for arn in listed.task_definition_arns() {
        let got = c
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| cloud(&t.id, "DescribeTaskDefinition", e))?;
        if let Some(d) = got.task_definition()
            && d.family() == Some(family)
            && super::owned_by(&tags_of(got.tags()), t)
        {
            owned.push(d.clone());
        }
    }
    Ok(owned)
}

pub async fn create(c: &Clients, t: &Target, p: &Json) -> Result<Applied, CloudError> {
    // A run that stopped between registering and recording left this very revision:
    // use it rather than registering a twin.
    if let Some(d) = owned_revisions(c, t, s(p, "family"), true)
        .await?
        .into_iter()
        .next()
    {
        let seen = Json::Object(super::props::overlay(p, &Json::Object(observe(&d))));
        if crate::plan::diff::same(Some(&seen), Some(p)) {
            let arn = d.task_definition_arn().unwrap_or_default();
            return applied(
                arn,
                &[
                    ("arn", json!(arn)),
                    ("family", json!(d.family())),
                    ("revision", json!(d.revision())),
                ],
            );
        }
    }
    let containers = p
        .get("containers")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(container)
        .collect::<Result<Vec<_>, _>>()?;
    let out = c
        .ecs
        .register_task_definition()
        .family(s(p, "family"))
        .set_cpu(opt_s(p, "cpu").map(str::to_string))
        .set_memory(opt_s(p, "memory").map(str::to_string))
        .network_mode(NetworkMode::from(s(p, "network_mode")))
        .set_requires_compatibilities(
            strings(p, "requires_compatibilities")
                .map(|v| v.iter().map(|x| Compatibility::from(x.as_str())).collect()),
        )
        .runtime_platform(
            RuntimePlatform::builder()
                .operating_system_family(OsFamily::from(s(p, "operating_system_family")))
                .cpu_architecture(CpuArchitecture::from(s(p, "cpu_architecture")))
                .build(),
        )
        .set_execution_role_arn(opt_s(p, "execution_role_arn").map(str::to_string))
        .set_task_role_arn(opt_s(p, "task_role_arn").map(str::to_string))
        .set_container_definitions(Some(containers))
        .set_volumes(volumes(p))
        .set_tags(Some(ecs_tags(t)))
        .send()
        .await
        .map_err(|e| cloud(&t.id, "RegisterTaskDefinition", e))?;
    let td = out.task_definition();
    let arn = td.and_then(|d| d.task_definition_arn()).unwrap_or_default();
    applied(
        arn,
        &[
            ("arn", json!(arn)),
            ("family", json!(td.and_then(|d| d.family()))),
            ("revision", json!(td.map(|d| d.revision()))),
        ],
    )
}

fn observe_container(d: &ContainerDefinition) -> Json {
    let ports: Vec<Json> = d
        .port_mappings()
        .iter()
        .map(|p| {
            json!({
                "container_port": p.container_port(),
                "host_port": p.host_port(),
                "protocol": p.protocol().map(|x| x.as_str()),
                "app_protocol": p.app_protocol().map(|x| x.as_str()),
            })
        })
        .collect();
    let env: Map<String, Json> = d
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap_or_default().to_string(), json!(kv.value())))
        .collect();
    let nonempty = |v: &[String]| if v.is_empty() { Json::Null } else { json!(v) };
    let secrets: Map<String, Json> = d
        .secrets()
        .iter()
        .map(|x| (x.name().to_string(), json!(x.value_from())))
        .collect();
    let mounts: Vec<Json> = d
        .mount_points()
        .iter()
        .map(|m| json!({"volume": m.source_volume(), "path": m.container_path(), "read_only": m.read_only().unwrap_or(false)}))
        .collect();
    json!({
        "name": d.name(),
        "image": d.image(),
        "essential": d.essential(),
        // ECS reports an unset container cpu as 0.
        "cpu": if d.cpu() == 0 { Json::Null } else { json!(d.cpu()) },
        "memory": d.memory(),
        "memory_reservation": d.memory_reservation(),
        "port_mappings": ports,
        "environment": env,
        "secrets": if secrets.is_empty() { Json::Null } else { json!(secrets) },
        "mounts": if mounts.is_empty() { Json::Null } else { json!(mounts) },
        "command": nonempty(d.command()),
        "entry_point": nonempty(d.entry_point()),
        "log_options": d.log_configuration().and_then(|l| l.options()).map(|o| json!(o)),
    })
}

/// A registered revision in the shape of the props it was registered from.
fn observe(d: &TaskDefinition) -> Map<String, Json> {
    let compat: Vec<&str> = d
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str())
        .collect();
    let platform = d.runtime_platform();
    let containers: Vec<Json> = d
        .container_definitions()
        .iter()
        .map(observe_container)
        .collect();
    super::props::outputs(&[
        ("family", json!(d.family())),
        ("cpu", json!(d.cpu())),
        ("memory", json!(d.memory())),
        ("network_mode", json!(d.network_mode().map(|m| m.as_str()))),
        (
            "requires_compatibilities",
            if compat.is_empty() {
                Json::Null
            } else {
                json!(compat)
            },
        ),
        (
            "operating_system_family",
            json!(
                platform
                    .and_then(|p| p.operating_system_family())
                    .map(|x| x.as_str())
            ),
        ),
        (
            "cpu_architecture",
            json!(
                platform
                    .and_then(|p| p.cpu_architecture())
                    .map(|x| x.as_str())
            ),
        ),
        ("execution_role_arn", json!(d.execution_role_arn())),
        ("task_role_arn", json!(d.task_role_arn())),
        ("containers", json!(containers)),
        ("volumes", {
            let v: Vec<Json> = d
                .volumes()
                .iter()
                .map(|v| json!({"name": v.name(), "host_path": v.host().and_then(|h| h.source_path())}))
                .collect();
            if v.is_empty() { Json::Null } else { json!(v) }
        }),
    ])
}

pub async fn read(
    c: &Clients,
    id: &str,
    e: &Entry,
) -> Result<Option<Map<String, Json>>, CloudError> {
    let Some(out) = found(
        c.ecs
            .describe_task_definition()
            .task_definition(&e.physical_id)
            .send()
            .await,
        &["ClientException"],
        id,
        "DescribeTaskDefinition",
    )?
    else {
        return Ok(None);
    };
    let Some(d) = out.task_definition() else {
        return Ok(None);
    };
    if d.status() != Some(&TaskDefinitionStatus::Active) {
        return Ok(None);
    }
    Ok(Some(observe(d)))
}

pub async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
    let mut revisions = e.revisions.clone();
    if !revisions.contains(&e.physical_id) {
        revisions.push(e.physical_id.clone());
    }
    // Revisions registered by a run that was killed before recording them are ours too.
    for d in owned_revisions(c, t, s(&e.props, "family"), false).await? {
        let arn = d.task_definition_arn().unwrap_or_default().to_string();
        if !revisions.contains(&arn) {
            revisions.push(arn);
        }
    }
    for arn in revisions {
        match c
            .ecs
            .deregister_task_definition()
            .task_definition(&arn)
            .send()
            .await
        {
            Ok(_) => {}
            // Already deregistered (or gone): nothing left to do for this revision.
            Err(err) if is_code(&err, &["ClientException", "InvalidParameterException"]) => {}
            Err(err) => return Err(cloud(&t.id, "DeregisterTaskDefinition", err)),
        }
    }
    Ok(())
}
