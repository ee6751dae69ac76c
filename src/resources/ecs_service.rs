//! ECS services: created with the circuit breaker on, updated in place where ECS allows
//! (task definition, desired count, network), scaled to 0 and drained before deletion.

use super::ecs_cluster::{ecs_tags, tags_of};
use super::error::{cloud, found, is_code, own};
use super::kind::{Change, Fields, Found, Owned, Replacement, Retry};
use super::props::{opt_s, ordered_like, s};
use super::wait::{self, Budget, Poll};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeploymentCircuitBreaker,
    DeploymentConfiguration, DesiredStatus, LaunchType, NetworkConfiguration, PropagateTags,
    Service, ServiceField, Task,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// ECS service.
pub struct EcsService;

crate::props! {
    for EcsService;
    pub struct Props / Desired {
        pub name: String,
        pub cluster: String,
        pub task_definition: String,
        pub desired_count: i64,
        pub launch_type: Option<String>,
        pub platform_version: Option<String>,
        pub subnets: Option<Vec<String>>,
        pub security_groups: Option<Vec<String>>,
        pub assign_public_ip: Option<bool>,
        pub capacity_provider: Option<String>,
        /// Where the load balancer sends requests: target group, container and port.
        #[serde(default)]
        pub load_balancers: Vec<LoadBalancer>,
        #[serde(default)]
        pub health_check_grace_seconds: Option<i64>,
        /// Rolling update bounds; ECS's defaults (100 %, 200 %) when left out.
        #[serde(default)]
        pub min_healthy_percent: Option<i64>,
        #[serde(default)]
        pub max_percent: Option<i64>,
        /// Application Auto Scaling sets the desired count: `up` leaves it alone.
        #[serde(default)]
        pub autoscaled: Option<bool>,
    }
}

crate::props! {
    /// One of the service's target groups.
    pub struct LoadBalancer / LoadBalancerDesired {
        pub target_group_arn: String,
        pub container_name: String,
        pub container_port: i64,
    }
}

fn sdk_load_balancers(p: &Props) -> Option<Vec<aws_sdk_ecs::types::LoadBalancer>> {
    if p.load_balancers.is_empty() {
        return None;
    }
    Some(
        p.load_balancers
            .iter()
            .map(|l| {
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(l.target_group_arn.as_str())
                    .container_name(l.container_name.as_str())
                    .container_port(l.container_port as i32)
                    .build()
            })
            .collect(),
    )
}

fn deployment(p: &Props) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        )
        .set_minimum_healthy_percent(p.min_healthy_percent.map(|v| v as i32))
        .set_maximum_percent(p.max_percent.map(|v| v as i32))
        .build()
}

use crate::provider::{DEPLOYMENT, WAITING};

/// How long IAM may take to make a new role usable by ECS.
const IAM_WINDOW: Duration = Duration::from_secs(120);
/// How long a deleted service may take to stop its tasks.
const DRAIN: Duration = Duration::from_secs(600);

/// The service `name` of `cluster`, if it is active. Asked through the cluster's shared
/// polls (`service_polls`), so that services asked for at the same time share a call.
async fn describe(
    c: &Clients,
    id: &str,
    cluster: &str,
    name: &str,
) -> Result<Option<Service>, CloudError> {
    Ok(super::service_polls::describe(c, id, cluster, name)
        .await?
        .filter(|s| s.status() == Some("ACTIVE")))
}

fn network(t: &Target, p: &Props) -> Result<Option<NetworkConfiguration>, CloudError> {
    let subnets = p.subnets.clone().unwrap_or_default();
    if subnets.is_empty() {
        return Ok(None);
    }
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets))
        .set_security_groups(Some(p.security_groups.clone().unwrap_or_default()))
        .assign_public_ip(if p.assign_public_ip.unwrap_or(false) {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| {
            own(
                &t.id,
                "build network configuration",
                e.to_string(),
                "this is a bug in provision",
            )
        })?;
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build(),
    ))
}

fn outputs_of(svc: &Service, cluster: &str) -> Applied {
    let arn = svc.service_arn().unwrap_or_default();
    Applied {
        physical_id: arn.to_string(),
        outputs: super::props::outputs(&[
            ("arn", json!(arn)),
            ("name", json!(svc.service_name())),
            ("cluster", json!(cluster)),
            // Where `up` waits for healthy targets.
            (
                "target_group_arns",
                json!(
                    svc.load_balancers()
                        .iter()
                        .filter_map(|l| l.target_group_arn())
                        .collect::<Vec<_>>()
                ),
            ),
            // The deployment this create or update started: the one `up` waits for.
            (
                "deployment_id",
                json!(
                    svc.deployments()
                        .iter()
                        .find(|d| d.status() == Some("PRIMARY"))
                        .and_then(|d| d.id())
                ),
            ),
        ]),
    }
}

async fn update_service(
    c: &Clients,
    t: &Target,
    _svc: &Service,
    p: &Props,
) -> Result<Applied, CloudError> {
    let cluster = p.cluster.as_str();
    let out = c
        .ecs
        .update_service()
        .cluster(cluster)
        .service(p.name.as_str())
        .task_definition(p.task_definition.as_str())
        // The scaler owns the count once autoscaling is on.
        .set_desired_count((p.autoscaled != Some(true)).then_some(p.desired_count as i32))
        .set_load_balancers(sdk_load_balancers(p))
        .set_health_check_grace_period_seconds(p.health_check_grace_seconds.map(|v| v as i32))
        .deployment_configuration(deployment(p))
        .set_platform_version(
            p.platform_version
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        )
        .set_network_configuration(network(t, p)?)
        .send()
        .await
        .map_err(|e| cloud(&t.id, "UpdateService", e))?;
    let svc = out
        .service()
        .cloned()
        .unwrap_or_else(|| Service::builder().build());
    Ok(outputs_of(&svc, cluster))
}

/// The service's tasks in one desired status (none when the service or cluster is gone).
async fn tasks(
    c: &Clients,
    id: &str,
    cluster: &str,
    service: &str,
    status: DesiredStatus,
) -> Result<Vec<Task>, CloudError> {
    let name = service.rsplit('/').next().unwrap_or(service);
    let listed = c
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(name)
        .desired_status(status)
        .send()
        .await;
    const GONE: &[&str] = &["ServiceNotFoundException", "ClusterNotFoundException"];
    let Some(listed) = found(listed, GONE, id, "ListTasks")? else {
        return Ok(Vec::new());
    };
    if listed.task_arns().is_empty() {
        return Ok(Vec::new());
    }
    let described = c
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .map_err(|e| cloud(id, "DescribeTasks", e))?;
    Ok(described.tasks().to_vec())
}

/// Why tasks of the service stopped, for failing fast with AWS's reason.
/// Only the tasks `deployment` started count, when it is known: stopped tasks stay listed
/// for an hour, and an earlier deployment's failure is not this one's.
/// The health of a service's targets in its target groups, as the load balancer sees them.
#[derive(Default)]
struct Health {
    groups: usize,
    healthy: usize,
    /// Not healthy: "unhealthy (Target.FailedHealthChecks: Health checks failed)".
    others: Vec<String>,
}

impl Health {
    /// Whether the load balancer sends requests to as many tasks as the service wants
    /// (always, without a load balancer).
    fn serves(&self, desired: i32) -> bool {
        self.groups == 0 || self.healthy >= usize::try_from(desired).unwrap_or(0)
    }

    /// For the status line: empty without a load balancer.
    fn line(&self) -> String {
        if self.groups == 0 {
            return String::new();
        }
        let mut s = format!("; {} healthy targets", self.healthy);
        if !self.others.is_empty() {
            s.push_str(&format!(", {}", self.others.join(", ")));
        }
        s
    }
}

async fn targets(c: &Clients, id: &str, groups: &[String]) -> Result<Health, CloudError> {
    let mut h = Health {
        groups: groups.len(),
        ..Health::default()
    };
    for arn in groups {
        let got = c
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| cloud(id, "DescribeTargetHealth", e))?;
        for d in got.target_health_descriptions() {
            let Some(th) = d.target_health() else {
                continue;
            };
            let state = th.state().map(|s| s.as_str()).unwrap_or("?");
            if state == "healthy" {
                h.healthy += 1;
                continue;
            }
            let why = match (th.reason(), th.description()) {
                (Some(r), Some(d)) => format!(" ({}: {d})", r.as_str()),
                (Some(r), None) => format!(" ({})", r.as_str()),
                _ => String::new(),
            };
            let line = format!("{state}{why}");
            if !h.others.contains(&line) {
                h.others.push(line);
            }
        }
    }
    Ok(h)
}

/// A stopped task of the deployment: why, and when (seconds since the epoch).
struct Stopped {
    reason: String,
    at: f64,
}

async fn stopped_tasks(
    c: &Clients,
    id: &str,
    cluster: &str,
    service: &str,
    deployment: Option<&str>,
) -> Result<Vec<Stopped>, CloudError> {
    let stopped = tasks(c, id, cluster, service, DesiredStatus::Stopped).await?;
    Ok(stopped
        .iter()
        .filter(|t| deployment.is_none() || t.started_by() == deployment)
        .filter_map(|t| {
            let reason = t.stopped_reason()?;
            let container = t.containers().iter().find_map(|c| c.reason());
            // The container's reason often repeats the task's: say it once.
            let reason = match container {
                Some(cr) if !reason.contains(cr) => format!("{reason}: {cr}"),
                _ => reason.to_string(),
            };
            let at = t.stopped_at().map(|d| d.as_secs_f64()).unwrap_or(0.0);
            Some(Stopped { reason, at })
        })
        .collect())
}

/// A task that cannot initialize (it reads a secret, pulls from a private registry) while
/// its execution role's policy is minutes old may well start once IAM has spread it. It is
/// hopeless only when it still happens this long after the first such stop.
const INIT_ERROR: &str = "ResourceInitializationError";

fn init_window() -> f64 {
    // Tests shorten the window; AWS's IAM takes up to a couple of minutes.
    std::env::var("PROVISION_INIT_WINDOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120.0)
}

/// The stop that no retry by ECS will cure, if any.
fn hopeless(stopped: &[Stopped]) -> Option<&Stopped> {
    let init: Vec<&Stopped> = stopped
        .iter()
        .filter(|s| s.reason.contains(INIT_ERROR))
        .collect();
    let first = init.iter().map(|s| s.at).fold(f64::INFINITY, f64::min);
    stopped.iter().find(|s| {
        HOPELESS.iter().any(|h| s.reason.contains(h))
            && (!s.reason.contains(INIT_ERROR) || s.at - first >= init_window())
    })
}

/// Reasons that no retry by ECS will cure.
const HOPELESS: &[&str] = &[
    "CannotPullContainerError",
    "ResourceInitializationError",
    "CannotStartContainerError",
];

impl Owned for EcsService {
    type Props = Props;
    const LABEL: &'static str = "ECS service";
    const REPLACE_ON: &'static [&'static str] =
        &["name", "cluster", "launch_type", "capacity_provider"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;
    // CreateService needs its subnets, security groups and task definition to exist;
    // their rules, public-address settings and roles' policies matter only when a task
    // starts, seconds later. The internet route is not needed to create it at all, only
    // for the tasks to pull their images. The service is done only once all are.
    const EARLY: &'static [crate::resources::Kind] = &[
        crate::resources::Kind::Subnet,
        crate::resources::Kind::SecurityGroup,
        crate::resources::Kind::TaskDefinition,
    ];
    const DONE_AFTER: &'static [crate::resources::Kind] = &[
        crate::resources::Kind::RouteTable,
        crate::resources::Kind::RouteTableAssociation,
    ];

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let cluster = s(&e.props, "cluster");
        Ok(describe(c, id, cluster, &e.physical_id)
            .await?
            .map(|svc| observe(&svc, e)))
    }

    const BATCHES: bool = true;

    /// Ten services a call (DescribeServices' limit), per cluster.
    async fn read_many(
        c: &Clients,
        items: &[(String, Entry)],
    ) -> Result<Vec<Option<Fields>>, CloudError> {
        let mut by_cluster: std::collections::BTreeMap<&str, Vec<&(String, Entry)>> =
            Default::default();
        for item in items {
            by_cluster
                .entry(s(&item.1.props, "cluster"))
                .or_default()
                .push(item);
        }
        let mut calls = Vec::new();
        for (cluster, members) in &by_cluster {
            for chunk in members.chunks(10) {
                calls.push(async move {
                    let names: Vec<String> =
                        chunk.iter().map(|(_, e)| e.physical_id.clone()).collect();
                    let out = found(
                        c.ecs
                            .describe_services()
                            .cluster(*cluster)
                            .set_services(Some(names))
                            .include(ServiceField::Tags)
                            .send()
                            .await,
                        &["ClusterNotFoundException"],
                        &chunk[0].0,
                        "DescribeServices",
                    )?;
                    Ok::<_, CloudError>(out.map(|o| o.services().to_vec()).unwrap_or_default())
                });
            }
        }
        // By (cluster, service) names: the state may hold either names or ARNs.
        let mut seen: std::collections::HashMap<(String, String), Service> = Default::default();
        for services in futures_util::future::try_join_all(calls).await? {
            for svc in services
                .into_iter()
                .filter(|s| s.status() == Some("ACTIVE"))
            {
                let key = (
                    short(svc.cluster_arn().unwrap_or_default()).to_string(),
                    svc.service_name().unwrap_or_default().to_string(),
                );
                seen.insert(key, svc);
            }
        }
        Ok(items
            .iter()
            .map(|(_, e)| {
                let key = (
                    short(s(&e.props, "cluster")).to_string(),
                    short(&e.physical_id).to_string(),
                );
                seen.get(&key).map(|svc| observe(svc, e))
            })
            .collect())
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let (cluster, name) = (p.cluster.as_str(), p.name.as_str());
        // Discovery found none of ours: create at once; a service of that name (someone
        // else's) makes CreateService refuse, and is looked at then.
        if !t.absent
            && let Some(a) = existing(c, t, p).await?
        {
            return Ok(a);
        }
        // EC2 services run through the cluster's capacity provider, Fargate ones by launch type.
        let strategy = match p.capacity_provider.as_deref().filter(|v| !v.is_empty()) {
            Some(cp) => Some(vec![
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(cp)
                    .weight(1)
                    .build()
                    .map_err(|e| {
                        own(
                            &t.id,
                            "build strategy",
                            e.to_string(),
                            "this is a bug in provision",
                        )
                    })?,
            ]),
            None => None,
        };
        let net = network(t, p)?;
        let request = || {
            c.ecs
                .create_service()
                .cluster(cluster)
                .service_name(name)
                .task_definition(p.task_definition.as_str())
                .desired_count(p.desired_count as i32)
                .set_launch_type(
                    p.launch_type
                        .as_deref()
                        .filter(|v| !v.is_empty())
                        .map(LaunchType::from),
                )
                .set_capacity_provider_strategy(strategy.clone())
                .set_platform_version(
                    p.platform_version
                        .as_deref()
                        .filter(|v| !v.is_empty())
                        .map(str::to_string),
                )
                .set_network_configuration(net.clone())
                .set_load_balancers(sdk_load_balancers(p))
                .set_health_check_grace_period_seconds(
                    p.health_check_grace_seconds.map(|v| v as i32),
                )
                .deployment_configuration(deployment(p))
                .propagate_tags(PropagateTags::Service)
                .enable_ecs_managed_tags(true)
                .set_tags(Some(ecs_tags(t)))
        };
        // A role made moments ago is not yet usable by ECS everywhere: IAM spreads it within
        // about two minutes, so wait for it rather than fail.
        let out = wait::until(t, "CreateService", Budget::release(IAM_WINDOW), || async {
            Ok(match request().send().await {
                Ok(out) => Poll::Ready(Ok(out)),
                Err(e)
                    if is_code(&e, &["InvalidParameterException"])
                        && e.message()
                            .is_some_and(|m| m.to_lowercase().contains("assume the role")) =>
                {
                    Poll::Pending(
                        "ECS cannot assume the new role yet; waiting for IAM to make it usable"
                            .into(),
                    )
                }
                // A fresh account gets ECS's service-linked role with its first cluster, a
                // little after it (terraform-provider-aws #11417).
                Err(e)
                    if is_code(&e, &["InvalidParameterException"])
                        && e.message()
                            .is_some_and(|m| m.to_lowercase().contains("service linked role")) =>
                {
                    Poll::Pending(
                        "ECS's service-linked role is not there yet (a new account); waiting for it"
                            .into(),
                    )
                }
                Err(e)
                    if t.absent
                        && is_code(&e, &["InvalidParameterException"])
                        && e.message().is_some_and(|m| m.contains("not idempotent")) =>
                {
                    match existing(c, t, p).await? {
                        Some(a) => return Ok(Poll::Ready(Err(a))),
                        None => Poll::Failed(cloud(&t.id, "CreateService", e)),
                    }
                }
                Err(e) => Poll::Failed(cloud(&t.id, "CreateService", e)),
            })
        })
        .await?;
        let out = match out {
            Ok(out) => out,
            Err(adopted) => return Ok(adopted),
        };
        let svc = out
            .service()
            .cloned()
            .unwrap_or_else(|| Service::builder().build());
        Ok(outputs_of(&svc, cluster))
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let svc = Service::builder().service_arn(&e.physical_id).build();
        update_service(c, t, &svc, p).await
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let cluster = s(&e.props, "cluster");
        // `force` scales it to zero and deletes it in one call: no read, no update first.
        match c
            .ecs
            .delete_service()
            .cluster(cluster)
            .service(&e.physical_id)
            .force(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err)
                if is_code(
                    &err,
                    &[
                        "ServiceNotFoundException",
                        "ServiceNotActiveException",
                        "ClusterNotFoundException",
                    ],
                ) =>
            {
                return Ok(());
            }
            Err(err) => return Err(cloud(&t.id, "DeleteService", err)),
        }
        // The cluster, subnets and groups can only go once the service has drained. ECS
        // turns a deleted service INACTIVE once all its tasks are STOPPING or STOPPED
        // (DeleteService's reference), so its status alone says so: no task listing.
        wait::until(t, "DeleteService", Budget::release(DRAIN), || async {
            let left = super::service_polls::describe(c, &t.id, cluster, &e.physical_id)
                .await?
                .filter(|s| matches!(s.status(), Some("ACTIVE" | "DRAINING")));
            Ok(match left {
                None => Poll::Ready(()),
                Some(s) => Poll::Pending(format!(
                    "draining: {} tasks still running",
                    s.running_count()
                )),
            })
        })
        .await
    }

    /// Follows the deployment this step started (its id), not whichever is primary: a
    /// deployment the circuit breaker failed and rolled back is a failure, though the
    /// service is stable again on the previous task definition.
    async fn wait_ready(
        c: &Clients,
        t: &Target,
        a: &Applied,
        timeout: Duration,
    ) -> Result<(), CloudError> {
        let cluster = a
            .outputs
            .get("cluster")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let cluster = cluster.as_str();
        let ours = a.outputs.get("deployment_id").and_then(Json::as_str);
        let groups: Vec<String> = a
            .outputs
            .get("target_group_arns")
            .and_then(Json::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let budget = Budget::long(timeout).saying("not stable");
        wait::until(t, WAITING, budget, || async {
            let svc = describe(c, &t.id, cluster, &a.physical_id)
                .await?
                .ok_or_else(|| {
                    own(
                        &t.id,
                        WAITING,
                        "the service disappeared while waiting",
                        "check the ECS console for who deleted it",
                    )
                })?;
            let primary = svc
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"));
            let mine = match ours {
                Some(id) => svc.deployments().iter().find(|d| d.id() == Some(id)),
                None => primary,
            };
            let rollout = |d: Option<&aws_sdk_ecs::types::Deployment>| {
                d.and_then(|d| d.rollout_state())
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_else(|| "?".into())
            };
            let line = format!(
                "{}/{} tasks running, deployment {} ({} deployments)",
                svc.running_count(),
                svc.desired_count(),
                rollout(mine),
                svc.deployments().len()
            );
            let other_primary = primary.filter(|p| ours.is_some() && p.id() != ours);
            let task_of = |d: Option<&aws_sdk_ecs::types::Deployment>| {
                d.and_then(|d| d.task_definition())
                    .map(|td| td.rsplit('/').next().unwrap_or(td).to_string())
                    .unwrap_or_else(|| "?".into())
            };
            // Failed, or gone with another deployment in its place: the circuit breaker's work.
            if rollout(mine) == "FAILED" || (mine.is_none() && other_primary.is_some()) {
                let why = mine
                    .and_then(|d| d.rollout_state_reason())
                    .unwrap_or("the deployment failed")
                    .trim_end_matches('.')
                    .to_string();
                let stopped = stopped_tasks(c, &t.id, cluster, &a.physical_id, ours).await?;
                let mut detail = stopped
                    .first()
                    .map(|s| format!("; a task stopped: {}", s.reason))
                    .unwrap_or_default();
                detail.push_str(&targets(c, &t.id, &groups).await?.line());
                let what = match other_primary {
                    Some(p) => format!(
                        "{} was rolled back to {}",
                        task_of(mine),
                        task_of(Some(p))
                    ),
                    None => task_of(mine),
                };
                return Ok(Poll::Failed(own(
                    &t.id,
                    DEPLOYMENT,
                    format!("{what}: {why}{detail}"),
                    "fix the cause (image name, port, memory) and run `provision up` again",
                )));
            }
            let done = rollout(mine) == "COMPLETED"
                || (mine.is_some_and(|d| d.rollout_state().is_none())
                    && svc.deployments().len() == 1);
            let settled = mine.is_some() && mine.map(|d| d.id()) == primary.map(|d| d.id());
            if done
                && settled
                && svc.running_count() == svc.desired_count()
                && svc.deployments().len() == 1
            {
                // Running is not serving: behind a load balancer, its health check decides.
                let health = targets(c, &t.id, &groups).await?;
                if health.serves(svc.desired_count()) {
                    t.progress.say(format!("{line}{}", health.line()));
                    return Ok(Poll::Ready(()));
                }
                return Ok(Poll::Pending(format!("{line}{}", health.line())));
            }
            if svc.running_count() < svc.desired_count() {
                let stopped = stopped_tasks(c, &t.id, cluster, &a.physical_id, ours).await?;
                if let Some(s) = hopeless(&stopped) {
                    return Ok(Poll::Failed(own(
                        &t.id,
                        DEPLOYMENT,
                        format!("a task stopped: {}", s.reason),
                        "fix the cause (image name, registry access, secrets) and run `provision up` again",
                    )));
                }
                if stopped.iter().any(|s| s.reason.contains(INIT_ERROR)) {
                    return Ok(Poll::Pending(format!(
                        "{line}; a task could not initialize ({INIT_ERROR}): ECS retries while IAM spreads the execution role's new permissions"
                    )));
                }
            }
            // While tasks run, what the load balancer thinks of them.
            let health = if svc.running_count() > 0 {
                targets(c, &t.id, &groups).await?.line()
            } else {
                String::new()
            };
            Ok(Poll::Pending(format!("{line}{health}")))
        })
        .await
    }

    /// The addresses of the running tasks: where to reach the service without a load balancer.
    async fn live_outputs(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Map<String, Json>, CloudError> {
        let cluster = s(&e.props, "cluster");
        let running = tasks(c, id, cluster, &e.physical_id, DesiredStatus::Running).await?;
        let mut enis = Vec::new();
        {
            for t in &running {
                for a in t
                    .attachments()
                    .iter()
                    .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
                {
                    if let Some(eni) = a
                        .details()
                        .iter()
                        .find(|d| d.name() == Some("networkInterfaceId"))
                        .and_then(|d| d.value())
                    {
                        enis.push(eni.to_string());
                    }
                }
            }
        }
        let (mut public, mut private) = (Vec::new(), Vec::new());
        if !enis.is_empty() {
            let out = c
                .ec2
                .describe_network_interfaces()
                .set_network_interface_ids(Some(enis))
                .send()
                .await
                .map_err(|err| cloud(id, "DescribeNetworkInterfaces", err))?;
            for ni in out.network_interfaces() {
                if let Some(ip) = ni.association().and_then(|a| a.public_ip()) {
                    public.push(ip.to_string());
                }
                if let Some(ip) = ni.private_ip_address() {
                    private.push(ip.to_string());
                }
            }
        }
        // Bridge-networked tasks (EC2 launch type) are reached at their instance's address.
        let hosts: Vec<String> = running
            .iter()
            .filter(|t| t.attachments().is_empty())
            .filter_map(|t| t.container_instance_arn().map(str::to_string))
            .collect();
        if !hosts.is_empty() {
            let ci = c
                .ecs
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(hosts))
                .send()
                .await
                .map_err(|err| cloud(id, "DescribeContainerInstances", err))?;
            let ids: Vec<String> = ci
                .container_instances()
                .iter()
                .filter_map(|i| i.ec2_instance_id().map(str::to_string))
                .collect();
            if !ids.is_empty() {
                let out = c
                    .ec2
                    .describe_instances()
                    .set_instance_ids(Some(ids))
                    .send()
                    .await
                    .map_err(|err| cloud(id, "DescribeInstances", err))?;
                for i in out.reservations().iter().flat_map(|r| r.instances()) {
                    public.extend(i.public_ip_address().map(str::to_string));
                    private.extend(i.private_ip_address().map(str::to_string));
                }
            }
        }
        Ok(super::props::outputs(&[
            ("running_tasks", json!(running.len())),
            ("public_ips", json!(public)),
            ("private_ips", json!(private)),
        ]))
    }

    /// The services of the stack's clusters, by their tags.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        for cluster in super::ecs_cluster::owned_clusters(c, stack).await? {
            let Some(cluster) = cluster.cluster_arn() else {
                continue;
            };
            let mut arns = Vec::new();
            let mut pages = c
                .ecs
                .list_services()
                .cluster(cluster)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| cloud(stack, "ListServices", e))?;
                arns.extend(page.service_arns().iter().cloned());
            }
            // DescribeServices takes 10 at a time.
            for chunk in arns.chunks(10) {
                let got = c
                    .ecs
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(chunk.to_vec()))
                    .include(ServiceField::Tags)
                    .send()
                    .await
                    .map_err(|e| cloud(stack, "DescribeServices", e))?;
                for s in got
                    .services()
                    .iter()
                    .filter(|s| s.status() == Some("ACTIVE"))
                {
                    out.extend(
                        super::found_in(&tags_of(s.tags()), stack, s.service_arn()).map(|f| {
                            f.with(&[
                                ("arn", json!(s.service_arn())),
                                ("name", json!(s.service_name())),
                                ("cluster", json!(cluster)),
                                (
                                    "target_group_arns",
                                    json!(
                                        s.load_balancers()
                                            .iter()
                                            .filter_map(|l| l.target_group_arn())
                                            .collect::<Vec<_>>()
                                    ),
                                ),
                            ])
                        }),
                    );
                }
            }
        }
        Ok(out)
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}

/// A service of this name already in the cluster: ours (a run that stopped before
/// recording it) is brought to `p`; anyone else's is an error.
async fn existing(c: &Clients, t: &Target, p: &Props) -> Result<Option<Applied>, CloudError> {
    let (cluster, name) = (p.cluster.as_str(), p.name.as_str());
    let Some(existing) = describe(c, &t.id, cluster, name).await? else {
        return Ok(None);
    };
    if super::owned_by(&tags_of(existing.tags()), t) {
        return update_service(c, t, &existing, p).await.map(Some);
    }
    Err(own(
        &t.id,
        "CreateService",
        format!(
            "a service named {name} already runs in cluster {cluster} and does not belong to stack {}",
            t.stack
        ),
        "rename the service in the stack file, or use another cluster",
    ))
}

/// The service as AWS has it, in the shape of its props.
fn observe(svc: &Service, e: &Entry) -> Fields {
    let vpc = svc
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let strings = |v: &[String]| v.iter().map(|x| json!(x)).collect::<Vec<_>>();
    // Only a full ARN names a revision; anything else is not comparable.
    let td = svc.task_definition().filter(|a| a.starts_with("arn:"));
    super::props::outputs(&[
        ("name", json!(svc.service_name())),
        ("cluster", json!(svc.cluster_arn())),
        ("task_definition", json!(td)),
        // What the scaler set is not drift.
        (
            "desired_count",
            if e.props.get("autoscaled").and_then(Json::as_bool) == Some(true) {
                e.props.get("desired_count").cloned().unwrap_or(Json::Null)
            } else {
                json!(svc.desired_count())
            },
        ),
        (
            "load_balancers",
            json!(
                svc.load_balancers()
                    .iter()
                    .map(|l| json!({
                        "target_group_arn": l.target_group_arn(),
                        "container_name": l.container_name(),
                        "container_port": l.container_port(),
                    }))
                    .collect::<Vec<_>>()
            ),
        ),
        // Reported where the file sets one: AWS may answer 0 for a service without.
        (
            "health_check_grace_seconds",
            json!(svc.health_check_grace_period_seconds().filter(|_| {
                e.props
                    .get("health_check_grace_seconds")
                    .is_some_and(|v| !v.is_null())
            })),
        ),
        (
            "min_healthy_percent",
            json!(
                svc.deployment_configuration()
                    .and_then(|d| d.minimum_healthy_percent())
                    .filter(|_| e
                        .props
                        .get("min_healthy_percent")
                        .is_some_and(|v| !v.is_null()))
            ),
        ),
        (
            "max_percent",
            json!(
                svc.deployment_configuration()
                    .and_then(|d| d.maximum_percent())
                    .filter(|_| e.props.get("max_percent").is_some_and(|v| !v.is_null()))
            ),
        ),
        // Reported only where the file asks for one: EC2 services use a capacity provider.
        (
            "launch_type",
            json!(
                svc.launch_type()
                    .map(|l| l.as_str())
                    .filter(|_| opt_s(&e.props, "launch_type").is_some())
            ),
        ),
        (
            "capacity_provider",
            json!(
                svc.capacity_provider_strategy()
                    .first()
                    .map(|c| c.capacity_provider())
            ),
        ),
        (
            "subnets",
            vpc.map_or(Json::Null, |v| {
                ordered_like(strings(v.subnets()), e.props.get("subnets"))
            }),
        ),
        (
            "security_groups",
            vpc.map_or(Json::Null, |v| {
                ordered_like(strings(v.security_groups()), e.props.get("security_groups"))
            }),
        ),
        (
            "assign_public_ip",
            json!(
                vpc.and_then(|v| v.assign_public_ip())
                    .map(|a| *a == AssignPublicIp::Enabled)
            ),
        ),
    ])
}

/// A cluster's or service's name from its name or ARN (`…:service/<cluster>/<name>`).
fn short(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}
