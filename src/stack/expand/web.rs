//! The web service: the stack's load balancer, its security group and listeners; for each
//! exposed service a target group, a listener rule and the opening from the load balancer;
//! autoscaling; and a task role of the service's own.

use super::{CLUSTER, Expanded, Net, map};
use crate::desired::Value;
use crate::resources::{
    iam_role, listener, listener_rule, load_balancer, role_policy, scalable_target, scaling_policy,
    security_group, target_group,
};
use crate::stack::model::*;

pub const LB: &str = "load_balancer";
pub const LB_GROUP: &str = "security_group.load_balancer";
/// Admits the load balancer to the instances' dynamic host ports (bridge mode).
pub const INSTANCES_FROM_LB: &str = "security_group.instances_from_load_balancer";
/// The ephemeral range ECS picks dynamic host ports from.
const DYNAMIC_PORTS: (i64, i64) = (32768, 65535);

/// A name ELB accepts (at most 32 letters, digits and hyphens), the same on every run.
pub fn elb_name(base: &str) -> String {
    let clean: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let clean = clean.trim_matches('-').to_string();
    if clean.len() <= 32 {
        return clean;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in base.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{}-{:04x}", clean[..27].trim_end_matches('-'), h & 0xffff)
}

pub fn exposed(file: &StackFile) -> bool {
    file.services.values().any(|s| s.value.expose.is_some())
}

fn https(file: &StackFile) -> Option<String> {
    file.load_balancer
        .as_ref()
        .and_then(|l| l.value.certificate_arn.as_ref())
        .map(|c| c.value.clone())
}

/// The listener exposed services' rules go on.
fn rules_listener(file: &StackFile) -> &'static str {
    if https(file).is_some() {
        "listener.https"
    } else {
        "listener.http"
    }
}

/// The load balancer, its group and its listeners, when a service is exposed.
pub fn expand_load_balancer(file: &StackFile, stack: &str, net: &Net, out: &mut Expanded) {
    if !exposed(file) {
        return;
    }
    let cert = https(file);
    let allow: Vec<String> = file
        .load_balancer
        .as_ref()
        .map(|l| l.value.allow.iter().map(|a| a.value.clone()).collect())
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec!["0.0.0.0/0".into()]);
    let mut ports = vec![80];
    if cert.is_some() {
        ports.push(443);
    }
    let rules = allow
        .iter()
        .flat_map(|cidr| {
            ports.iter().map(move |p| {
                rule(
                    *p,
                    None,
                    Value::str(cidr.clone()),
                    Value::Null,
                    "the internet, to the load balancer",
                )
            })
        })
        .collect();
    out.resources.push(
        security_group::Desired {
            vpc_id: net.vpc_id.clone(),
            group_name: Value::str(format!("{stack}-load-balancer")),
            description: Value::str(format!("Load balancer of stack {stack}")),
            ingress: Value::List(rules),
        }
        .resource(LB_GROUP),
    );
    let mut lb = load_balancer::Desired {
        name: Value::str(elb_name(stack)),
        vpc_id: net.vpc_id.clone(),
        subnet_ids: net.subnets(None, "public"),
        security_group_ids: Value::List(vec![Value::reference(LB_GROUP, "id")]),
    }
    .resource(LB);
    // An internet-facing load balancer needs the VPC's route to the internet.
    lb.after.extend(net.internet.clone());
    out.resources.push(lb);
    out.resources.push(
        listener::Desired {
            load_balancer_arn: Value::reference(LB, "arn"),
            port: Value::Int(80),
            certificate_arn: Value::Null,
            redirect_to_https: Value::Bool(cert.is_some()),
        }
        .resource("listener.http"),
    );
    if let Some(cert) = cert {
        out.resources.push(
            listener::Desired {
                load_balancer_arn: Value::reference(LB, "arn"),
                port: Value::Int(443),
                certificate_arn: Value::str(cert),
                redirect_to_https: Value::Bool(false),
            }
            .resource("listener.https"),
        );
    }
    // Bridge-mode services get dynamic host ports on the instances.
    let bridge = file
        .services
        .values()
        .any(|s| s.value.expose.is_some() && s.value.launch_type.value == LaunchType::Ec2);
    if bridge {
        out.resources.push(
            security_group::Desired {
                vpc_id: net.vpc_id.clone(),
                group_name: Value::str(format!("{stack}-instances-from-lb")),
                description: Value::str(format!(
                    "Dynamic host ports, from the load balancer of stack {stack}"
                )),
                ingress: Value::List(vec![rule(
                    DYNAMIC_PORTS.0,
                    Some(DYNAMIC_PORTS.1),
                    Value::Null,
                    Value::reference(LB_GROUP, "id"),
                    "the load balancer, to the tasks' dynamic host ports",
                )]),
            }
            .resource(INSTANCES_FROM_LB),
        );
    }
}

fn rule(port: i64, to: Option<i64>, cidr: Value, source: Value, why: &str) -> Value {
    security_group::RuleDesired {
        protocol: Value::str("tcp"),
        port: Value::Int(port),
        to_port: to.map_or(Value::Null, Value::Int),
        cidr,
        source_group_id: source,
        description: Value::str(why),
    }
    .value()
}

/// What an exposed service adds to its ECS service.
pub struct Exposure {
    /// Its `load_balancers` entry.
    pub load_balancer: Value,
    /// The rule that associates its target group with the load balancer: ECS refuses a
    /// target group no load balancer uses, so the service comes after it.
    pub rule_id: String,
    /// For awsvpc services: the group that admits the load balancer to the container port.
    pub group: Option<Value>,
    pub grace_seconds: i64,
    pub target_group: String,
}

/// The target group, listener rule and opening of one exposed service; `order` is its
/// place among the exposed services in the file (the rule's priority follows it, so it is
/// the same from run to run).
pub fn expand_exposure(
    file: &StackFile,
    stack: &str,
    name: &str,
    s: &Service,
    order: usize,
    net: &Net,
    out: &mut Expanded,
) -> Option<Exposure> {
    let e = &s.expose.as_ref()?.value;
    let port = i64::from(e.port.value);
    let fargate = s.launch_type.value == LaunchType::Fargate;
    let container = s
        .containers
        .value
        .iter()
        .find(|(_, c)| {
            c.value
                .ports
                .iter()
                .any(|p| p.value.container_port() == e.port.value)
        })
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let hc = e.health_check.as_ref().map(|h| &h.value);
    let pick = |v: Option<&Located<u32>>, default: i64| v.map_or(default, |x| i64::from(x.value));
    let tg_id = format!("target_group.{name}");
    out.resources.push(
        target_group::Desired {
            name: Value::str(elb_name(&format!("{stack}-{name}"))),
            vpc_id: net.vpc_id.clone(),
            port: Value::Int(port),
            target_type: Value::str(if fargate { "ip" } else { "instance" }),
            health_check_path: Value::str(
                hc.and_then(|h| h.path.as_ref())
                    .map_or("/".into(), |p| p.value.clone()),
            ),
            healthy_codes: Value::str(
                hc.and_then(|h| h.healthy_codes.as_ref())
                    .map_or("200".into(), |c| c.value.clone()),
            ),
            health_check_interval: Value::Int(pick(hc.and_then(|h| h.interval.as_ref()), 15)),
            healthy_threshold: Value::Int(pick(hc.and_then(|h| h.healthy_threshold.as_ref()), 2)),
            unhealthy_threshold: Value::Int(pick(
                hc.and_then(|h| h.unhealthy_threshold.as_ref()),
                3,
            )),
            deregistration_delay: Value::Int(pick(e.deregistration_delay.as_ref(), 30)),
        }
        .resource(&tg_id),
    );
    // Rules are tried by priority, lowest first, in the order of the file; a service that
    // takes every path (no `path`, no `host`) comes after all the others.
    let priority = match (&e.path, &e.host) {
        (None, None) => 40_000 + (order as i64 + 1) * 10,
        _ => (order as i64 + 1) * 10,
    };
    let (paths, hosts) = match (&e.path, &e.host) {
        (None, None) => (vec!["/*".to_string()], vec![]),
        (p, h) => (
            p.iter().map(|p| p.value.clone()).collect(),
            h.iter().map(|h| h.value.clone()).collect(),
        ),
    };
    let scheme = if https(file).is_some() {
        "https"
    } else {
        "http"
    };
    let url = match (hosts.first(), paths.first()) {
        (Some(h), p) => Value::str(format!(
            "{scheme}://{h}{}",
            p.map_or("/".into(), |p| url_path(p))
        )),
        (None, p) => Value::Join(vec![
            Value::str(format!("{scheme}://")),
            Value::reference(LB, "dns_name"),
            Value::str(p.map_or("/".into(), |p| url_path(p))),
        ]),
    };
    let rule_id = format!("listener_rule.{name}");
    out.resources.push(
        listener_rule::Desired {
            listener_arn: Value::reference(rules_listener(file), "arn"),
            priority: Value::Int(priority),
            paths: Value::List(paths.into_iter().map(Value::Str).collect()),
            hosts: Value::List(hosts.into_iter().map(Value::Str).collect()),
            target_group_arn: Value::reference(&tg_id, "arn"),
            url,
        }
        .resource(&rule_id),
    );
    let group = fargate.then(|| {
        let id = format!("security_group.{name}_from_load_balancer");
        out.resources.push(
            security_group::Desired {
                vpc_id: net.vpc_id.clone(),
                group_name: Value::str(format!("{stack}-{name}-from-lb")),
                description: Value::str(format!(
                    "Port {port} of service {name}, from the load balancer of stack {stack}"
                )),
                ingress: Value::List(vec![rule(
                    port,
                    None,
                    Value::Null,
                    Value::reference(LB_GROUP, "id"),
                    "the load balancer, to the service",
                )]),
            }
            .resource(&id),
        );
        Value::reference(&id, "id")
    });
    Some(Exposure {
        load_balancer: crate::resources::ecs_service::LoadBalancerDesired {
            target_group_arn: Value::reference(&tg_id, "arn"),
            container_name: Value::str(container),
            container_port: Value::Int(port),
        }
        .value(),
        rule_id,
        group,
        grace_seconds: pick(e.grace_period.as_ref(), 60),
        target_group: tg_id,
    })
}

/// The address part of a path pattern: `/api/*` -> `/api/`.
fn url_path(pattern: &str) -> String {
    let p = pattern.trim_end_matches('*');
    if p.is_empty() { "/".into() } else { p.into() }
}

/// The scalable target and target-tracking policies of an autoscaled service.
pub fn expand_autoscaling(
    stack: &str,
    name: &str,
    s: &Service,
    exposure: Option<&Exposure>,
    out: &mut Expanded,
) {
    let Some(a) = s.autoscaling.as_ref().map(|a| &a.value) else {
        return;
    };
    let service_id = format!("ecs_service.{name}");
    let target_id = format!("scalable_target.{name}");
    out.resources.push(
        scalable_target::Desired {
            resource_id: Value::Join(vec![
                Value::str("service/"),
                Value::reference(CLUSTER, "name"),
                Value::str("/"),
                Value::reference(&service_id, "name"),
            ]),
            min: Value::Int(a.min.value.into()),
            max: Value::Int(a.max.value.into()),
        }
        .resource(&target_id),
    );
    let metrics = [
        ("cpu", a.cpu.as_ref()),
        ("memory", a.memory.as_ref()),
        ("requests", a.requests.as_ref()),
    ];
    for (metric, target) in metrics {
        let Some(target) = target else { continue };
        let label = match (metric, exposure) {
            ("requests", Some(x)) => Value::Join(vec![
                Value::reference(LB, "arn_suffix"),
                Value::str("/"),
                Value::reference(&x.target_group, "arn_suffix"),
            ]),
            _ => Value::Null,
        };
        out.resources.push(
            scaling_policy::Desired {
                name: Value::str(format!("{stack}-{name}-{metric}")),
                resource_id: Value::reference(&target_id, "resource_id"),
                metric: Value::str(metric),
                target: Value::Int(target.value.into()),
                resource_label: label,
            }
            .resource(format!("scaling_policy.{name}.{metric}")),
        );
    }
}

/// A task role the stack makes, with the file's statements and managed policies; the
/// inline policy's id when there is one (the service starts after it).
pub fn own_task_role(
    stack: &str,
    name: &str,
    r: &OwnTaskRole,
    out: &mut Expanded,
) -> (Value, Option<String>) {
    let role_id = format!("iam_role.{name}_task");
    out.resources.push(
        iam_role::Desired {
            role_name: Value::str(format!("{stack}-{name}-task")),
            trust_service: Value::str("ecs-tasks.amazonaws.com"),
            managed_policy_arns: Value::List(
                r.managed_policies
                    .iter()
                    .map(|p| Value::str(p.value.clone()))
                    .collect(),
            ),
        }
        .resource(&role_id),
    );
    if r.statements.is_empty() {
        return (Value::reference(&role_id, "arn"), None);
    }
    let statements = r
        .statements
        .iter()
        .map(|st| {
            map(vec![
                ("Effect", Value::str("Allow")),
                (
                    "Action",
                    Value::List(st.value.actions.iter().cloned().map(Value::Str).collect()),
                ),
                (
                    "Resource",
                    Value::List(st.value.resources.iter().cloned().map(Value::Str).collect()),
                ),
            ])
        })
        .collect();
    let policy_id = format!("iam_role_policy.{name}_task");
    out.resources.push(
        role_policy::Desired {
            role_name: Value::reference(&role_id, "name"),
            policy_name: Value::str(format!("{stack}-{name}-task")),
            document: map(vec![
                ("Version", Value::str("2012-10-17")),
                ("Statement", Value::List(statements)),
            ]),
        }
        .resource(&policy_id),
    );
    (Value::reference(&role_id, "arn"), Some(policy_id))
}
