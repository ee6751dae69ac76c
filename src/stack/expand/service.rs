//! A service: its log group, task definition, secrets policy and the ECS service.

use super::compute::{CAPACITY_PROVIDER, CLUSTER_CAPACITY};
use super::network::group_ids;
use super::{ACCOUNT, CLUSTER, EXEC_ROLE, Expanded, Net, map, web};
use crate::desired::{Kind, Resource, Value};
use crate::resources::{ecs_service, log_group, role_policy, task_definition};
use crate::stack::model::*;
use crate::stack::reference::{Part, parse};

pub fn expand_service(
    file: &StackFile,
    stack: &str,
    name: &str,
    s: &Service,
    order: usize,
    net: &Net,
    out: &mut Expanded,
) {
    let log_id = format!("log_group.{name}");
    out.resources.push(
        log_group::Desired {
            name: Value::str(format!("/ecs/{stack}/{name}")),
            retention_days: s
                .log_retention_days
                .as_ref()
                .map_or(Value::Null, |d| Value::Int(d.value.into())),
        }
        .resource(&log_id),
    );

    let execution_role = match &s.execution_role {
        Some(role) => existing_role(&role.value, out),
        None => Value::reference(EXEC_ROLE, "arn"),
    };
    let mut task_policy = None;
    let task_role = match s.task_role.as_ref().map(|r| &r.value) {
        Some(TaskRole::Existing(role)) => existing_role(role, out),
        Some(TaskRole::Own(own)) => {
            let (arn, policy) = web::own_task_role(stack, name, own, out);
            task_policy = policy;
            arn
        }
        None => Value::Null,
    };
    let containers: Vec<Value> = s
        .containers
        .value
        .iter()
        .map(|(cname, c)| container(cname, &c.value, name, &log_id))
        .collect();
    let fargate = s.launch_type.value == LaunchType::Fargate;
    let volumes: Vec<Value> = s
        .volumes
        .iter()
        .map(|(v, vol)| {
            task_definition::HostVolumeDesired {
                name: Value::str(v),
                host_path: Value::str(vol.value.host_path.clone()),
            }
            .value()
        })
        .collect();
    let td_id = format!("task_definition.{name}");
    out.resources.push(
        task_definition::Desired {
            family: Value::str(format!("{stack}-{name}")),
            cpu: Value::opt_str(s.cpu.as_ref().map(|c| c.value.to_string())),
            memory: Value::opt_str(s.memory.as_ref().map(|m| m.value.to_string())),
            network_mode: Value::str(if fargate { "awsvpc" } else { "bridge" }),
            requires_compatibilities: Value::List(vec![Value::str(if fargate {
                "FARGATE"
            } else {
                "EC2"
            })]),
            operating_system_family: Value::str("LINUX"),
            cpu_architecture: Value::str(match s.cpu_architecture {
                Architecture::X86_64 => "X86_64",
                Architecture::Arm64 => "ARM64",
            }),
            execution_role_arn: execution_role,
            task_role_arn: task_role,
            volumes: if volumes.is_empty() {
                Value::Null
            } else {
                Value::List(volumes)
            },
            containers: Value::List(containers),
        }
        .resource(&td_id),
    );

    let exposure = web::expand_exposure(file, stack, name, s, order, net, out);
    // A fixed host port holds one task per instance: an update must stop the old task
    // before the new one can start there.
    let fixed_port = (!fargate)
        .then(|| {
            s.containers
                .value
                .values()
                .flat_map(|c| c.value.ports.iter())
                .find_map(|p| p.value.host_port().filter(|h| *h != 0))
        })
        .flatten();
    let autoscaling = s.autoscaling.as_ref().map(|a| &a.value);
    let desired = autoscaling.map_or(s.desired_count, |a| {
        s.desired_count
            .clamp(a.min.value, a.max.value.max(a.min.value))
    });
    let mut groups = if fargate {
        group_ids(&s.security_groups)
    } else {
        Value::Null
    };
    if let (Value::List(ids), Some(g)) =
        (&mut groups, exposure.as_ref().and_then(|x| x.group.clone()))
    {
        ids.push(g);
    }
    // Fargate services pick their network; EC2 ones go where the capacity provider's
    // instances are, once it is on the cluster.
    let mut service = ecs_service::Desired {
        name: Value::str(name),
        cluster: Value::reference(CLUSTER, "arn"),
        task_definition: Value::reference(&td_id, "arn"),
        desired_count: Value::Int(desired.into()),
        launch_type: if fargate {
            Value::str("FARGATE")
        } else {
            Value::Null
        },
        platform_version: if fargate {
            Value::str(
                s.platform_version
                    .clone()
                    .unwrap_or_else(|| "LATEST".into()),
            )
        } else {
            Value::Null
        },
        subnets: if fargate {
            net.subnets(s.subnets.as_ref(), "public")
        } else {
            Value::Null
        },
        security_groups: groups,
        assign_public_ip: if fargate {
            Value::Bool(s.public_ip.value)
        } else {
            Value::Null
        },
        capacity_provider: if fargate {
            Value::Null
        } else {
            Value::reference(CAPACITY_PROVIDER, "name")
        },
        load_balancers: Value::List(exposure.iter().map(|x| x.load_balancer.clone()).collect()),
        health_check_grace_seconds: exposure
            .as_ref()
            .map_or(Value::Null, |x| Value::Int(x.grace_seconds)),
        min_healthy_percent: if fixed_port.is_some() {
            Value::Int(0)
        } else {
            Value::Null
        },
        max_percent: if fixed_port.is_some() {
            Value::Int(100)
        } else {
            Value::Null
        },
        autoscaled: if autoscaling.is_some() {
            Value::Bool(true)
        } else {
            Value::Null
        },
    }
    .resource(format!("ecs_service.{name}"));
    let mut notes = Vec::new();
    if let Some(port) = fixed_port {
        notes.push(format!(
            "deployments stop the old task before starting the new one (minimum healthy 0 %, maximum 100 %): host port {port} is fixed, so an instance holds one task"
        ));
    }
    if let Some(a) = autoscaling {
        notes.push(format!(
            "the desired count is left to autoscaling ({} to {}); `up` sets it only when it creates the service",
            a.min.value, a.max.value
        ));
    }
    if !notes.is_empty() {
        service.note = Some(notes.join("; "));
    }
    if let Some(x) = &exposure {
        service.after.push(x.rule_id.clone());
    }
    service.after.extend(task_policy);
    if fargate {
        service.after.extend(net.internet.clone());
    } else {
        service.after.push(CLUSTER_CAPACITY.into());
    }
    if let Some(policy) = secrets_policy(stack, name, s) {
        service.after.push(policy.id.clone());
        out.resources.push(policy);
    }
    out.resources.push(service);
    web::expand_autoscaling(stack, name, s, exposure.as_ref(), out);
}

/// The secrets a service's containers read, as ARNs: what its execution role must be
/// allowed to read, and no more.
fn secret_arns(s: &Service) -> Vec<Value> {
    let mut arns = Vec::new();
    for c in s.containers.value.values() {
        for v in c.value.secrets.values() {
            for part in parse(&v.value).unwrap_or_default() {
                let arn = match part {
                    Part::Ref { name, .. } => {
                        Value::reference(&format!("db_instance.{name}"), "secret_arn")
                    }
                    Part::Lit(l) if l.starts_with("arn:") && l.contains(":secretsmanager:") => {
                        // `arn:…:secret:name-AbCdEf:json-key::` -> the secret's own ARN.
                        Value::str(l.splitn(8, ':').take(7).collect::<Vec<_>>().join(":"))
                    }
                    Part::Lit(l) if l.starts_with("arn:") && l.contains(":ssm:") => Value::str(l),
                    Part::Lit(_) => continue,
                };
                if !arns.contains(&arn) {
                    arns.push(arn);
                }
            }
        }
    }
    arns
}

fn secrets_policy(stack: &str, service: &str, s: &Service) -> Option<Resource> {
    if s.execution_role.is_some() {
        // A role the stack does not own is not changed: its owner grants the access.
        return None;
    }
    let arns = secret_arns(s);
    if arns.is_empty() {
        return None;
    }
    // Secrets Manager secrets and SSM parameters are read with different actions.
    let is_ssm = |v: &Value| matches!(v, Value::Str(s) if s.contains(":ssm:"));
    let (ssm, asm): (Vec<Value>, Vec<Value>) = arns.into_iter().partition(is_ssm);
    let statement = |action: &str, arns: Vec<Value>| {
        map(vec![
            ("Effect", Value::str("Allow")),
            ("Action", Value::List(vec![Value::str(action)])),
            ("Resource", Value::List(arns)),
        ])
    };
    let mut statements = Vec::new();
    if !asm.is_empty() {
        statements.push(statement("secretsmanager:GetSecretValue", asm));
    }
    if !ssm.is_empty() {
        statements.push(statement("ssm:GetParameters", ssm));
    }
    let document = map(vec![
        ("Version", Value::str("2012-10-17")),
        ("Statement", Value::List(statements)),
    ]);
    Some(
        role_policy::Desired {
            role_name: Value::reference(EXEC_ROLE, "name"),
            policy_name: Value::str(format!("{stack}-{service}-secrets")),
            document,
        }
        .resource(format!("iam_role_policy.{service}_secrets")),
    )
}

fn existing_role(name_or_arn: &str, out: &mut Expanded) -> Value {
    let id = format!("lookup.role.{name_or_arn}");
    if !out.resources.iter().any(|r| r.id == id) {
        out.resources
            .push(Resource::new(&id, Kind::ExistingRole).with("name", Value::str(name_or_arn)));
    }
    Value::reference(&id, "arn")
}

/// A string that may hold `${databases.<name>.<attr>}` references.
fn templated(s: &str) -> Value {
    let parts: Vec<Value> = parse(s)
        .unwrap_or_else(|_| vec![Part::Lit(s.to_string())])
        .into_iter()
        .map(|p| match p {
            Part::Lit(l) => Value::Str(l),
            Part::Ref { name, attr, .. } => Value::reference(&format!("db_instance.{name}"), &attr),
        })
        .collect();
    match <[Value; 1]>::try_from(parts) {
        Ok([Value::Str(s)]) => Value::Str(s),
        Ok([one]) => Value::Join(vec![one]),
        Err(parts) => Value::Join(parts),
    }
}

fn container(name: &str, c: &Container, service: &str, log_id: &str) -> Value {
    let num = |n: Option<u32>| n.map_or(Value::Null, |n| Value::Int(n.into()));
    let ports = c
        .ports
        .iter()
        .map(|p| {
            let p = &p.value;
            let app = match p {
                PortSpec::Mapping(m) if m.app_protocol.is_some() => m.app_protocol.clone(),
                _ if p.protocol() == Protocol::Tcp => Some("http".into()),
                _ => None,
            };
            task_definition::PortDesired {
                container_port: Value::Int(p.container_port().into()),
                host_port: p.host_port().map_or(Value::Null, |h| Value::Int(h.into())),
                protocol: Value::str(p.protocol().as_str()),
                app_protocol: Value::opt_str(app),
            }
            .value()
        })
        .collect();
    let sorted = |m: &indexmap::IndexMap<String, Located<String>>| {
        let mut pairs: Vec<(&String, &Located<String>)> = m.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.clone(), templated(&v.value)))
                .collect(),
        )
    };
    let mounts: Vec<Value> = c
        .mounts
        .iter()
        .map(|m| {
            task_definition::MountDesired {
                volume: Value::str(m.value.volume.value.clone()),
                path: Value::str(m.value.path.clone()),
                read_only: Value::Bool(m.value.read_only),
            }
            .value()
        })
        .collect();
    let list = |l: &Option<Vec<String>>| {
        l.as_ref().map_or(Value::Null, |l| {
            Value::List(l.iter().map(|s| Value::str(s.clone())).collect())
        })
    };
    task_definition::ContainerDesired {
        name: Value::str(name),
        image: Value::str(c.image.value.clone()),
        essential: Value::Bool(c.essential.unwrap_or(true)),
        cpu: num(c.cpu),
        memory: num(c.memory),
        memory_reservation: num(c.memory_reservation),
        port_mappings: Value::List(ports),
        environment: sorted(&c.environment),
        secrets: if c.secrets.is_empty() {
            Value::Null
        } else {
            sorted(&c.secrets)
        },
        mounts: if mounts.is_empty() {
            Value::Null
        } else {
            Value::List(mounts)
        },
        command: list(&c.command),
        entry_point: list(&c.entry_point),
        health_check: c.health_check.as_ref().map_or(Value::Null, |h| {
            let h = &h.value;
            let or = |v: &Option<Located<u32>>, d: u32| {
                Value::Int(v.as_ref().map_or(d, |x| x.value).into())
            };
            task_definition::HealthCheckDesired {
                command: Value::List(vec![
                    Value::str("CMD-SHELL"),
                    Value::str(h.command.value.clone()),
                ]),
                interval: or(&h.interval, 30),
                timeout: or(&h.timeout, 5),
                retries: or(&h.retries, 3),
                start_period: or(&h.start_period, 0),
            }
            .value()
        }),
        log_options: map(vec![
            ("awslogs-group", Value::reference(log_id, "name")),
            ("awslogs-region", Value::reference(ACCOUNT, "region")),
            ("awslogs-stream-prefix", Value::str(service)),
        ]),
    }
    .value()
}
