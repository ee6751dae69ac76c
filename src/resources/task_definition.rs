//! Task definitions. They are immutable: every change registers the family's next
//! revision, and `down` deregisters every revision the stack registered.

use super::ecs_cluster::ecs_tags;
use super::ecs_cluster::tags_of;
use super::error::{cloud, found, is_code};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::{applied, s};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::{
    ApplicationProtocol, Compatibility, ContainerDefinition, CpuArchitecture, HostVolumeProperties,
    KeyValuePair, LogConfiguration, LogDriver, MountPoint, NetworkMode, OsFamily, PortMapping,
    RuntimePlatform, Secret, SortOrder, TaskDefinition as SdkTaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus, TransportProtocol, Volume,
};
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};
use std::sync::Arc;
use std::time::Duration;

/// Task definition.
pub struct TaskDefinition;

crate::props! {
    for TaskDefinition;
    pub struct Props / Desired {
        pub family: String,
        /// CPU units and MiB of the whole task, as text (`"256"`), as ECS takes them.
        pub cpu: Option<String>,
        pub memory: Option<String>,
        pub network_mode: String,
        pub requires_compatibilities: Vec<String>,
        pub operating_system_family: String,
        pub cpu_architecture: String,
        pub execution_role_arn: Option<String>,
        pub task_role_arn: Option<String>,
        pub volumes: Option<Vec<HostVolume>>,
        pub containers: Vec<Container>,
    }
}

crate::props! {
    /// One container of the task.
    pub struct Container / ContainerDesired {
        pub name: String,
        pub image: String,
        pub essential: bool,
        pub cpu: Option<i32>,
        pub memory: Option<i32>,
        pub memory_reservation: Option<i32>,
        pub port_mappings: Vec<Port>,
        /// Values are text, or numbers where a reference resolved to one (a database's port).
        pub environment: IndexMap<String, Json>,
        pub secrets: Option<IndexMap<String, Json>>,
        pub mounts: Option<Vec<Mount>>,
        pub command: Option<Vec<String>>,
        pub entry_point: Option<Vec<String>>,
        pub log_options: IndexMap<String, String>,
        #[serde(default)]
        pub health_check: Option<HealthCheck>,
    }
}

crate::props! {
    /// Docker's health check inside the container (`CMD-SHELL`, command).
    pub struct HealthCheck / HealthCheckDesired {
        pub command: Vec<String>,
        pub interval: i32,
        pub timeout: i32,
        pub retries: i32,
        pub start_period: i32,
    }
}

crate::props! {
    /// A container port, and the host port it is published on (bridge mode).
    pub struct Port / PortDesired {
        pub container_port: i32,
        pub host_port: Option<i32>,
        pub protocol: String,
        pub app_protocol: Option<String>,
    }
}

crate::props! {
    /// A volume mounted into a container.
    pub struct Mount / MountDesired {
        pub volume: String,
        pub path: String,
        pub read_only: bool,
    }
}

crate::props! {
    /// A folder on the container instance that outlives the container.
    pub struct HostVolume / HostVolumeDesired {
        pub name: String,
        pub host_path: String,
    }
}

/// References such as a database's port resolve to numbers; the environment is text.
fn text(v: &Json) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn container(c: &Container) -> Result<ContainerDefinition, CloudError> {
    let ports = c
        .port_mappings
        .iter()
        .map(|p| {
            let (port, proto) = (p.container_port, p.protocol.as_str());
            PortMapping::builder()
                // ECS wants port mapping names in lower case.
                .name(format!("{}-{port}-{proto}", c.name).to_lowercase())
                .container_port(port)
                .set_host_port(p.host_port)
                .protocol(TransportProtocol::from(proto))
                .set_app_protocol(p.app_protocol.as_deref().map(ApplicationProtocol::from))
                .build()
        })
        .collect();
    let env = c
        .environment
        .iter()
        .map(|(k, v)| KeyValuePair::builder().name(k).value(text(v)).build())
        .collect();
    let bug =
        |what: &str, e: String| super::error::own(&c.name, what, e, "this is a bug in provision");
    let secrets = c
        .secrets
        .iter()
        .flatten()
        .map(|(k, v)| {
            Secret::builder()
                .name(k)
                .value_from(text(v))
                .build()
                .map_err(|e| bug("build secret", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mounts = c.mounts.as_ref().map(|a| {
        a.iter()
            .map(|m| {
                MountPoint::builder()
                    .source_volume(&m.volume)
                    .container_path(&m.path)
                    .read_only(m.read_only)
                    .build()
            })
            .collect()
    });
    let mut logs = LogConfiguration::builder().log_driver(LogDriver::Awslogs);
    for (k, v) in &c.log_options {
        logs = logs.options(k, v);
    }
    let logs = logs
        .build()
        .map_err(|e| bug("build container", e.to_string()))?;
    let health = c
        .health_check
        .as_ref()
        .map(|h| {
            aws_sdk_ecs::types::HealthCheck::builder()
                .set_command(Some(h.command.clone()))
                .interval(h.interval)
                .timeout(h.timeout)
                .retries(h.retries)
                .start_period(h.start_period)
                .build()
        })
        .transpose()
        .map_err(|e| {
            super::error::own(
                &c.name,
                "build health check",
                e.to_string(),
                "this is a bug in provision",
            )
        })?;
    Ok(ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .essential(c.essential)
        .set_cpu(c.cpu)
        .set_memory(c.memory)
        .set_memory_reservation(c.memory_reservation)
        .set_port_mappings(Some(ports))
        .set_environment(Some(env))
        .set_secrets((!secrets.is_empty()).then_some(secrets))
        .set_mount_points(mounts)
        .set_command(c.command.clone())
        .set_entry_point(c.entry_point.clone())
        .set_health_check(health)
        .log_configuration(logs)
        .build())
}

/// Host volumes: folders on the container instance that outlive the container.
fn volumes(p: &Props) -> Option<Vec<Volume>> {
    p.volumes.as_ref().map(|a| {
        a.iter()
            .map(|v| {
                Volume::builder()
                    .name(&v.name)
                    .host(
                        HostVolumeProperties::builder()
                            .source_path(&v.host_path)
                            .build(),
                    )
                    .build()
            })
            .collect()
    })
}

/// Runs `calls`, at most 16 at a time. A family can hold thousands of revisions: all at
/// once, they would queue in the client's rate limiter after being signed, and AWS refuses
/// a signature older than 5 minutes.
async fn bounded<T, F>(calls: Vec<F>) -> Result<Vec<T>, CloudError>
where
    F: std::future::Future<Output = Result<T, CloudError>>,
{
    use futures_util::{StreamExt, TryStreamExt};
    futures_util::stream::iter(calls)
        .buffer_unordered(16)
        .try_collect()
        .await
}

/// The family of a revision's ARN (`arn:...:task-definition/<family>:<revision>`).
fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit_once('/')?.1.rsplit_once(':').map(|(f, _)| f)
}

/// The account's active revisions, at most `pages` pages of 100, and whether that was
/// all of them.
async fn list_active(
    c: &Clients,
    id: &str,
    pages: usize,
) -> Result<(Vec<String>, bool), CloudError> {
    let mut arns = Vec::new();
    let mut listing = c
        .ecs
        .list_task_definitions()
        .status(TaskDefinitionStatus::Active)
        .max_results(100)
        .into_paginator()
        .send();
    for _ in 0..pages {
        let Some(page) = listing.next().await else {
            return Ok((arns, true));
        };
        let page = page.map_err(|e| cloud(id, "ListTaskDefinitions", e))?;
        arns.extend(page.task_definition_arns().iter().cloned());
        if page.next_token().is_none() {
            return Ok((arns, true));
        }
    }
    Ok((arns, false))
}

/// Every active revision of the account, listed once for all the task definitions a run
/// deletes (each looks for strays of its own family in it) instead of one listing each;
/// `None` where the account holds so many that the listing would take more calls than
/// the run deletes task definitions.
async fn account_revisions(
    c: &Clients,
    t: &Target,
) -> Result<Option<Arc<Vec<String>>>, CloudError> {
    let listed = c
        .memo
        .once("active-task-definitions", || async {
            let (arns, all) = list_active(c, &t.id, t.deleting).await?;
            Ok::<_, CloudError>(all.then(|| Arc::new(arns)))
        })
        .await?;
    Ok(listed.flatten())
}

/// The family's revisions this resource registered (tagged with its stack and id), newest
/// first, leaving out those in `known` (already recorded: their tags need no reading).
async fn owned_revisions(
    c: &Clients,
    t: &Target,
    family: &str,
    newest_only: bool,
    known: &[String],
) -> Result<Vec<SdkTaskDefinition>, CloudError> {
    // Every page: a family can hold more than a page of active revisions.
    let mut arns = Vec::new();
    let mut pages = c
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .set_max_results(newest_only.then_some(1))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| cloud(&t.id, "ListTaskDefinitions", e))?;
        arns.extend(page.task_definition_arns().iter().cloned());
        if newest_only && !arns.is_empty() {
            break;
        }
    }
    owned_among(c, t, family, &arns, known).await
}

/// Of `arns` (active revisions), those of `family` this resource registered, read for
/// their tags, leaving out those in `known`.
async fn owned_among(
    c: &Clients,
    t: &Target,
    family: &str,
    arns: &[String],
    known: &[String],
) -> Result<Vec<SdkTaskDefinition>, CloudError> {
    let described = bounded(
        arns.iter()
            .filter(|arn| !known.contains(arn) && family_of(arn) == Some(family))
            .map(|arn| async move {
                c.ecs
                    .describe_task_definition()
                    .task_definition(arn)
                    .include(TaskDefinitionField::Tags)
                    .send()
                    .await
                    .map_err(|e| cloud(&t.id, "DescribeTaskDefinition", e))
            })
            .collect(),
    );
    let mut owned = Vec::new();
    for got in described.await? {
        if let Some(d) = got.task_definition()
            && d.family() == Some(family)
            && super::owned_by(&tags_of(got.tags()), t)
        {
            owned.push(d.clone());
        }
    }
    Ok(owned)
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
        "health_check": d.health_check().map(|h| json!({
            "command": h.command(),
            "interval": h.interval(),
            "timeout": h.timeout(),
            "retries": h.retries(),
            "start_period": h.start_period(),
        })),
    })
}

/// A registered revision in the shape of the props it was registered from.
fn observe(d: &SdkTaskDefinition) -> Map<String, Json> {
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

impl Owned for TaskDefinition {
    type Props = Props;
    const LABEL: &'static str = "task definition";
    const REPLACE_ON: &'static [&'static str] = &["family"];
    // Every change registers a new revision; `down` deregisters them all.
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = true;
    // Registering needs the roles' ARNs, not their policies: those matter when a task
    // starts, and the service that starts tasks is done only once its roles are.
    const EARLY: &'static [crate::resources::Kind] = &[crate::resources::Kind::IamRole];

    async fn read(
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

    const BATCHES: bool = true;

    /// A registered revision never changes: still `ACTIVE` is all a plan needs to know. One
    /// listing of the account's active revisions (100 a page) answers for all of them; where
    /// the account has so many that the listing would cost more calls than reading each,
    /// the ones not seen yet are read one by one.
    async fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> Result<Vec<Option<Fields>>, CloudError> {
        if items.len() < 2 {
            let mut out = Vec::new();
            for (id, e) in items {
                out.push(Self::read(c, id, e).await?);
            }
            return Ok(out);
        }
        let (arns, listed_all) = list_active(c, &items[0].0, items.len()).await?;
        let active: std::collections::HashSet<String> = arns.into_iter().collect();
        let mut out = Vec::with_capacity(items.len());
        for (id, e) in items {
            out.push(if active.contains(&e.physical_id) {
                Some(Fields::new())
            } else if listed_all {
                None
            } else {
                Self::read(c, id, e).await?
            });
        }
        Ok(out)
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        // A run that stopped between registering and recording left this very revision:
        // use it rather than registering a twin.
        let earlier = if t.absent {
            Vec::new() // discovery found none
        } else {
            owned_revisions(c, t, &p.family, true, &[]).await?
        };
        if let Some(d) = earlier.into_iter().next() {
            let want = serde_json::to_value(p).unwrap_or_default();
            let seen = Json::Object(super::props::overlay(&want, &Json::Object(observe(&d))));
            if crate::plan::diff::same(Some(&seen), Some(&want)) {
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
            .containers
            .iter()
            .map(container)
            .collect::<Result<Vec<_>, _>>()?;
        let out = c
            .ecs
            .register_task_definition()
            .family(&p.family)
            .set_cpu(p.cpu.clone())
            .set_memory(p.memory.clone())
            .network_mode(NetworkMode::from(p.network_mode.as_str()))
            .set_requires_compatibilities(Some(
                p.requires_compatibilities
                    .iter()
                    .map(|x| Compatibility::from(x.as_str()))
                    .collect(),
            ))
            .runtime_platform(
                RuntimePlatform::builder()
                    .operating_system_family(OsFamily::from(p.operating_system_family.as_str()))
                    .cpu_architecture(CpuArchitecture::from(p.cpu_architecture.as_str()))
                    .build(),
            )
            .set_execution_role_arn(p.execution_role_arn.clone())
            .set_task_role_arn(p.task_role_arn.clone())
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

    async fn update(c: &Clients, t: &Target, _e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        Self::create(c, t, p).await
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let mut revisions = e.revisions.clone();
        if !revisions.contains(&e.physical_id) {
            revisions.push(e.physical_id.clone());
        }
        let deregister = |arn: String| async move {
            match c
                .ecs
                .deregister_task_definition()
                .task_definition(&arn)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                // Already deregistered (or gone): nothing left to do for this revision.
                Err(err) if is_code(&err, &["ClientException", "InvalidParameterException"]) => {
                    Ok(())
                }
                Err(err) => Err(cloud(&t.id, "DeregisterTaskDefinition", err)),
            }
        };
        // The recorded revisions go at once; meanwhile, revisions registered by a run that
        // was killed before recording them (ours too, by their tags) are looked for. The
        // listing may still show a recorded one being deregistered: it is not read again.
        let family = s(&e.props, "family");
        let strays = async {
            if t.deleting > 1
                && let Some(all) = account_revisions(c, t).await?
            {
                owned_among(c, t, family, &all, &revisions).await
            } else {
                owned_revisions(c, t, family, false, &revisions).await
            }
        };
        let (_, strays) = tokio::try_join!(
            bounded(revisions.iter().cloned().map(deregister).collect()),
            strays
        )?;
        let strays = strays
            .iter()
            .filter_map(|d| d.task_definition_arn())
            .map(str::to_string);
        bounded(strays.map(deregister).collect()).await?;
        Ok(())
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

    /// The stack's families (`<stack>-<service>`), their newest ACTIVE revision confirmed
    /// by its tags.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        let mut families = Vec::new();
        let mut pages = c
            .ecs
            .list_task_definition_families()
            .family_prefix(format!("{stack}-"))
            .status(aws_sdk_ecs::types::TaskDefinitionFamilyStatus::Active)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| cloud(stack, "ListTaskDefinitionFamilies", e))?;
            families.extend(page.families().iter().cloned());
        }
        for family in families {
            let newest = c
                .ecs
                .list_task_definitions()
                .family_prefix(&family)
                .status(TaskDefinitionStatus::Active)
                .sort(SortOrder::Desc)
                .max_results(1)
                .send()
                .await
                .map_err(|e| cloud(stack, "ListTaskDefinitions", e))?;
            let Some(arn) = newest.task_definition_arns().first() else {
                continue;
            };
            let got = c
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .map_err(|e| cloud(stack, "DescribeTaskDefinition", e))?;
            if let Some(d) = got
                .task_definition()
                .filter(|d| d.family() == Some(family.as_str()))
            {
                out.extend(
                    super::found_in(&tags_of(got.tags()), stack, Some(arn)).map(|f| {
                        f.with(&[
                            ("arn", json!(arn)),
                            ("family", json!(d.family())),
                            ("revision", json!(d.revision())),
                        ])
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

    fn plan_note(change: Change, _e: Option<&Entry>) -> Option<String> {
        (change == Change::Update).then(|| "registers a new revision".to_string())
    }
}
