//! Services, their task size and their containers.

use super::{Problem, Scope, check_groups, check_name, check_subnets, undefined};
use crate::stack::fargate;
use crate::stack::model::*;
use crate::stack::reference::{DATABASE_ATTRS, Part, parse};
use serde_saphyr::Location;
use std::collections::BTreeSet;

pub fn check_service(name: &str, svc: &Located<Service>, scope: &Scope, v: &mut Vec<Problem>) {
    let s = &svc.value;
    check_name(name, &svc.referenced, "service", 255, v);
    match s.launch_type.value {
        LaunchType::Ec2 => check_ec2(name, svc, scope, v),
        LaunchType::Fargate => check_fargate(name, svc, scope, v),
    }
    if let Some(days) = &s.log_retention_days {
        const ALLOWED: [i32; 22] = [
            1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
            2922, 3288, 3653,
        ];
        if !ALLOWED.contains(&days.value) {
            v.push(
                Problem::at(&days.referenced, format!("CloudWatch Logs cannot keep logs for {} days", days.value))
                    .hint("use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"),
            );
        }
    }
    check_containers(name, s, scope, v);
    super::web::check_exposure(name, s, v);
    super::web::check_autoscaling(name, s, v);
    if let Some(r) = &s.task_role {
        super::web::check_task_role(r, v);
    }
}

fn check_fargate(name: &str, svc: &Located<Service>, scope: &Scope, v: &mut Vec<Problem>) {
    let s = &svc.value;
    check_fargate_size(s, &svc.referenced, v);
    if let Some((_, vol)) = s.volumes.first() {
        v.push(
            Problem::at(&vol.referenced, "host volumes need container instances")
                .hint("use `launch_type: ec2` with an `instances:` section, or remove the volume"),
        );
    }
    check_groups(&s.security_groups, scope.file, v);
    // An exposed service gets the group that admits the load balancer.
    if s.security_groups.is_empty() && s.expose.is_none() {
        v.push(
            Problem::at(
                &svc.referenced,
                format!("service `{name}` names no security group"),
            )
            .hint("add `security_groups: [web]` with a group defined under security_groups"),
        );
    }
    if let Some(subnets) = &s.subnets {
        check_subnets(subnets, scope, v);
        for sn in subnets {
            let n = sn.value.as_str();
            if s.public_ip.value && (n == "private" || n.starts_with("private-")) {
                v.push(
                    Problem::at(
                        &sn.referenced,
                        format!("a public IP is of no use in private subnet `{n}`"),
                    )
                    .hint("put the service in `public` subnets, or set `public_ip: false`"),
                );
            }
        }
    }
}

fn check_ec2(name: &str, svc: &Located<Service>, scope: &Scope, v: &mut Vec<Problem>) {
    let s = &svc.value;
    if scope.file.instances.is_none() {
        v.push(
            Problem::at(
                &s.launch_type.referenced,
                format!("service `{name}` runs on EC2 instances, and the stack defines none"),
            )
            .hint("add an `instances:` section (instance_type, min, max, security_groups)"),
        );
    }
    if s.public_ip.value {
        v.push(
            Problem::at(
                &s.public_ip.referenced,
                "an EC2-launch-type task uses its instance's address",
            )
            .hint("remove `public_ip`; instances in public subnets get public addresses"),
        );
    }
    if let Some(sn) = s.subnets.as_ref().and_then(|l| l.first()) {
        v.push(
            Problem::at(
                &sn.referenced,
                "an EC2-launch-type task runs in its instance's subnet",
            )
            .hint("remove `subnets` here and set them under `instances:`"),
        );
    }
    if let Some(g) = s.security_groups.first() {
        v.push(
            Problem::at(
                &g.referenced,
                "an EC2-launch-type task (bridge networking) uses its instance's security groups",
            )
            .hint("remove `security_groups` here and set them under `instances:`"),
        );
    }
    for (cname, c) in &s.containers.value {
        if s.memory.is_none() && c.value.memory.is_none() && c.value.memory_reservation.is_none() {
            v.push(
                Problem::at(
                    &c.referenced,
                    format!("container `{cname}` needs `memory` (or `memory_reservation`) on EC2"),
                )
                .hint("e.g. `memory: 512` (MiB), or give the service a task-level `memory`"),
            );
        }
    }
}

fn check_fargate_size(s: &Service, at: &Location, v: &mut Vec<Problem>) {
    let (Some(cpu), Some(mem)) = (&s.cpu, &s.memory) else {
        v.push(
            Problem::at(at, "a Fargate service needs both `cpu` and `memory`").hint(
                "e.g. `cpu: 256` (0.25 vCPU) and `memory: 512` (0.5 GB), the smallest Fargate size",
            ),
        );
        return;
    };
    match fargate::allowed_memory(cpu.value) {
        None => v.push(
            Problem::at(
                &cpu.referenced,
                format!("Fargate has no task size with cpu {}", cpu.value),
            )
            .hint("use one of 256, 512, 1024, 2048, 4096, 8192, 16384 (1024 = 1 vCPU)"),
        ),
        Some(allowed) if !allowed.contains(&mem.value) => v.push(
            Problem::at(
                &mem.referenced,
                format!(
                    "Fargate does not run cpu {} with memory {}",
                    cpu.value, mem.value
                ),
            )
            .hint(format!(
                "with cpu {} use memory {}",
                cpu.value,
                fargate::describe(&allowed)
            )),
        ),
        Some(_) => {}
    }
}

fn check_containers(service: &str, s: &Service, scope: &Scope, v: &mut Vec<Problem>) {
    let containers = &s.containers;
    if containers.value.is_empty() {
        v.push(
            Problem::at(
                &containers.referenced,
                format!("service `{service}` has no container"),
            )
            .hint("add one, e.g. `httpd: { image: httpd, ports: [80] }`"),
        );
        return;
    }
    if !containers
        .value
        .values()
        .any(|c| c.value.essential.unwrap_or(true))
    {
        v.push(
            Problem::at(
                &containers.referenced,
                "at least one container must be essential",
            )
            .hint("remove `essential: false` from the main container"),
        );
    }
    let fargate = s.launch_type.value == LaunchType::Fargate;
    let mut ports = BTreeSet::new();
    for (cname, c) in &containers.value {
        let c_ = &c.value;
        check_name(cname, &c.referenced, "container", 255, v);
        super::web::check_container_health(c_, v);
        if c_.image.value.trim().is_empty() {
            v.push(
                Problem::at(&c_.image.referenced, "the image is empty")
                    .hint("name an image, e.g. `httpd` from Docker Hub or an ECR URI"),
            );
        }
        for p in &c_.ports {
            let port = p.value.container_port();
            if port == 0 {
                v.push(Problem::at(&p.referenced, "port 0 is not a port").hint("use 1 to 65535"));
            }
            // ECS names each port mapping `<container>-<port>-<protocol>`, 64 characters at most.
            let mapping = format!("{cname}-{port}-{}", p.value.protocol().as_str());
            if mapping.len() > 64 {
                v.push(
                    Problem::at(
                        &p.referenced,
                        format!(
                            "the port mapping name `{mapping}` is longer than ECS's 64 characters"
                        ),
                    )
                    .hint("give the container a shorter name"),
                );
            }
            if let Some(host) = p.value.host_port()
                && fargate
                && host != port
            {
                v.push(
                    Problem::at(&p.referenced, format!("on Fargate the host port must equal the container port ({port}), not {host}"))
                        .hint(format!("write `{port}` alone; awsvpc networking gives each task its own address")),
                );
            }
            if let PortSpec::Mapping(m) = &p.value
                && let Some(a) = m.app_protocol.as_deref()
                && !matches!(a, "http" | "http2" | "grpc")
            {
                v.push(
                    Problem::at(&p.referenced, format!("unknown app_protocol `{a}`"))
                        .hint("use http, http2 or grpc"),
                );
            }
            // Containers of a Fargate task share its address; on EC2 host ports collide.
            let key = if fargate {
                Some(port)
            } else {
                p.value.host_port()
            };
            if let Some(key) = key
                && !ports.insert((key, p.value.protocol()))
            {
                v.push(
                    Problem::at(
                        &p.referenced,
                        format!(
                            "port {key}/{} is used twice in service `{service}`",
                            p.value.protocol().as_str()
                        ),
                    )
                    .hint("containers of one task share its network; give each its own port"),
                );
            }
        }
        for m in &c_.mounts {
            if !s.volumes.contains_key(&m.value.volume.value) {
                v.push(undefined(
                    "volume",
                    &m.value.volume.value,
                    &m.value.volume.referenced,
                    s.volumes.keys(),
                ));
            }
            if !m.value.path.starts_with('/') {
                v.push(
                    Problem::at(
                        &m.referenced,
                        format!("`{}` is not an absolute path", m.value.path),
                    )
                    .hint("write the path in the container from /, e.g. /var/www/html"),
                );
            }
        }
        let databases: Vec<&String> = scope.file.databases.keys().collect();
        for value in c_.environment.values().chain(c_.secrets.values()) {
            check_references(value, &databases, v);
        }
    }
    for (vname, vol) in &s.volumes {
        check_name(vname, &vol.referenced, "volume", 255, v);
        if !vol.value.host_path.starts_with('/') {
            v.push(
                Problem::at(
                    &vol.referenced,
                    format!("`{}` is not an absolute path", vol.value.host_path),
                )
                .hint("write the folder on the instance from /, e.g. /ecs/wordpress"),
            );
        }
    }
}

fn check_references(value: &Located<String>, databases: &[&String], v: &mut Vec<Problem>) {
    let parts = match parse(&value.value) {
        Ok(p) => p,
        Err(e) => {
            v.push(
                Problem::at(&value.referenced, e)
                    .hint("write `${databases.<name>.<attribute>}`, or `$$` for a literal `$`"),
            );
            return;
        }
    };
    for part in parts {
        let Part::Ref { scope, name, attr } = part else {
            continue;
        };
        if scope != "databases" {
            v.push(
                Problem::at(&value.referenced, format!("`${{{scope}.{name}.{attr}}}` refers to `{scope}`, which offers nothing to refer to"))
                    .hint("references are `${databases.<name>.<attribute>}`"),
            );
        } else if !databases.iter().any(|d| **d == name) {
            v.push(undefined(
                "database",
                &name,
                &value.referenced,
                databases.iter().copied(),
            ));
        } else if !DATABASE_ATTRS.contains(&attr.as_str()) {
            v.push(
                Problem::at(
                    &value.referenced,
                    format!("a database has no attribute `{attr}`"),
                )
                .hint(format!("use one of: {}", DATABASE_ATTRS.join(", "))),
            );
        }
    }
}
