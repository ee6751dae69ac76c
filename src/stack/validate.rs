//! Checks of meaning that the YAML shape cannot express. Every problem found is reported,
//! each with its location and a hint; nothing here talks to AWS.

use super::error::Problem;
use super::fargate;
use super::model::*;
use serde_saphyr::Location;
use std::collections::BTreeSet;

pub fn validate(file: &StackFile) -> Vec<Problem> {
    let mut v = Vec::new();
    check_stack_name(file, &mut v);
    let own_vpc = check_network(file, &mut v);
    let subnet_names = subnet_names(file);
    check_security_groups(file, &mut v);
    if let Some(c) = &file.cluster {
        check_name(&c.value, &c.referenced, "cluster", 255, &mut v);
    }
    for (name, svc) in &file.services {
        check_service(name, svc, file, own_vpc, &subnet_names, &mut v);
    }
    v.sort_by_key(|p| (p.line, p.col));
    v
}

fn check_stack_name(file: &StackFile, v: &mut Vec<Problem>) {
    let name = &file.stack.value;
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        v.push(
            Problem::at(&file.stack.referenced, format!("`{name}` is not a usable stack name"))
                .hint("use 1 to 32 letters, digits and hyphens, starting with a letter, e.g. `stack: hello-httpd`; it prefixes the names of what the stack creates"),
        );
    }
}

fn check_name(name: &str, loc: &Location, what: &str, max: usize, v: &mut Vec<Problem>) {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        v.push(
            Problem::at(loc, format!("`{name}` is not a valid {what} name")).hint(format!(
                "use 1 to {max} letters, digits, hyphens and underscores"
            )),
        );
    }
}

/// Returns whether the stack has a VPC of its own.
fn check_network(file: &StackFile, v: &mut Vec<Problem>) -> bool {
    let Some(net) = &file.network else {
        return false;
    };
    match &net.vpc.value {
        VpcChoice::Named(n) if n == "default" => false,
        VpcChoice::Named(n) => {
            v.push(
                Problem::at(&net.vpc.referenced, format!("unknown VPC choice `{n}`"))
                    .hint("write `vpc: default` for the account's default VPC, or `vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }` for one of the stack's own"),
            );
            false
        }
        VpcChoice::Own(own) => {
            match parse_cidr(&own.cidr) {
                Some((_, prefix)) if (16..=24).contains(&prefix) => {}
                Some(_) => v.push(
                    Problem::at(&net.vpc.referenced, format!("VPC range `{}` has the wrong size", own.cidr))
                        .hint("use a prefix from /16 to /24, e.g. 10.0.0.0/16; the stack carves subnets 16 times smaller"),
                ),
                None => v.push(
                    Problem::at(&net.vpc.referenced, format!("`{}` is not an IPv4 CIDR range", own.cidr))
                        .hint("write it as address/prefix, e.g. 10.0.0.0/16"),
                ),
            }
            if own.public_subnets == 0 || own.public_subnets > 8 || own.private_subnets > 8 {
                v.push(
                    Problem::at(&net.vpc.referenced, "a VPC of the stack's own needs 1 to 8 public subnets and at most 8 private ones")
                        .hint("use public_subnets: 2 for two availability zones"),
                );
            }
            true
        }
    }
}

fn subnet_names(file: &StackFile) -> Vec<String> {
    match file.network.as_ref().map(|n| &n.vpc.value) {
        Some(VpcChoice::Own(own)) => (1..=own.public_subnets)
            .map(|i| format!("public-{i}"))
            .chain((1..=own.private_subnets).map(|i| format!("private-{i}")))
            .collect(),
        _ => Vec::new(),
    }
}

fn check_security_groups(file: &StackFile, v: &mut Vec<Problem>) {
    for (name, sg) in &file.security_groups {
        check_name(name, &sg.referenced, "security group", 200, v);
        for rule in &sg.value.ingress {
            let r = &rule.value;
            if r.port == 0 {
                v.push(
                    Problem::at(&rule.referenced, "port 0 is not a port").hint("use 1 to 65535"),
                );
            }
            match (&r.cidr, &r.from) {
                (Some(_), Some(_)) | (None, None) => v.push(
                    Problem::at(&rule.referenced, "an ingress rule needs exactly one of `cidr` or `from`")
                        .hint("write `{ port: 80, cidr: 0.0.0.0/0 }` to admit a range, or `{ port: 3306, from: web }` to admit another group of this stack"),
                ),
                (Some(c), None) => {
                    if parse_cidr(c).is_none() {
                        v.push(
                            Problem::at(&rule.referenced, format!("`{c}` is not an IPv4 CIDR range"))
                                .hint("write it as address/prefix, e.g. 0.0.0.0/0 or 203.0.113.7/32"),
                        );
                    }
                }
                (None, Some(from)) => {
                    if !file.security_groups.contains_key(&from.value) {
                        v.push(undefined("security group", &from.value, &from.referenced, file.security_groups.keys()));
                    }
                }
            }
        }
    }
}

fn undefined<'a>(
    what: &str,
    name: &str,
    loc: &Location,
    defined: impl Iterator<Item = &'a String>,
) -> Problem {
    let defined: Vec<&String> = defined.collect();
    let hint = if defined.is_empty() {
        format!("define it first; this stack defines no {what}s")
    } else {
        let list: Vec<String> = defined.iter().map(|d| format!("`{d}`")).collect();
        format!("the defined {what}s are {}", list.join(", "))
    };
    Problem::at(loc, format!("{what} `{name}` is not defined")).hint(hint)
}

fn check_service(
    name: &str,
    svc: &Located<Service>,
    file: &StackFile,
    own_vpc: bool,
    subnet_names: &[String],
    v: &mut Vec<Problem>,
) {
    let s = &svc.value;
    check_name(name, &svc.referenced, "service", 255, v);
    if s.launch_type.value == LaunchType::Ec2 {
        v.push(
            Problem::at(
                &s.launch_type.referenced,
                "launch_type ec2 is not supported yet",
            )
            .hint(
                "use `launch_type: fargate`; EC2 container instances come with the WordPress stack",
            ),
        );
    }
    if s.launch_type.value == LaunchType::Fargate {
        check_fargate_size(s, &svc.referenced, v);
    }
    for g in &s.security_groups {
        if !file.security_groups.contains_key(&g.value) {
            v.push(undefined(
                "security group",
                &g.value,
                &g.referenced,
                file.security_groups.keys(),
            ));
        }
    }
    if s.security_groups.is_empty() {
        v.push(
            Problem::at(
                &svc.referenced,
                format!("service `{name}` names no security group"),
            )
            .hint("add `security_groups: [web]` with a group defined under security_groups"),
        );
    }
    if let Some(subnets) = &s.subnets {
        for sn in subnets {
            let n = sn.value.as_str();
            let known = n == "public"
                || (n == "private" && subnet_names.iter().any(|s| s.starts_with("private-")))
                || subnet_names.iter().any(|s| s == n);
            if !known {
                let hint = if own_vpc {
                    format!(
                        "use `public`, `private` or one of: {}",
                        subnet_names.join(", ")
                    )
                } else {
                    "the default VPC has only its default public subnets: use `public` or leave `subnets` out".to_string()
                };
                v.push(
                    Problem::at(&sn.referenced, format!("subnet `{n}` is not defined")).hint(hint),
                );
            } else if s.public_ip.value && (n == "private" || n.starts_with("private-")) {
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
    check_containers(name, s, v);
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
    let _ = fargate::CPU_VALUES;
}

fn check_containers(service: &str, s: &Service, v: &mut Vec<Problem>) {
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
    let mut ports = BTreeSet::new();
    for (cname, c) in &containers.value {
        check_name(cname, &c.referenced, "container", 255, v);
        if c.value.image.value.trim().is_empty() {
            v.push(
                Problem::at(&c.value.image.referenced, "the image is empty")
                    .hint("name an image, e.g. `httpd` from Docker Hub or an ECR URI"),
            );
        }
        for p in &c.value.ports {
            let port = p.value.container_port();
            if port == 0 {
                v.push(Problem::at(&p.referenced, "port 0 is not a port").hint("use 1 to 65535"));
            }
            if let Some(host) = p.value.host_port()
                && s.launch_type.value == LaunchType::Fargate
                && host != port
            {
                v.push(
                    Problem::at(&p.referenced, format!("on Fargate the host port must equal the container port ({port}), not {host}"))
                        .hint(format!("write `{port}` alone; awsvpc networking gives each task its own address")),
                );
            }
            if !ports.insert((port, p.value.protocol())) {
                v.push(
                    Problem::at(
                        &p.referenced,
                        format!(
                            "port {port}/{} is used twice in service `{service}`",
                            p.value.protocol().as_str()
                        ),
                    )
                    .hint("containers of one task share its network; give each its own port"),
                );
            }
        }
        if let Some(PortSpec::Mapping(m)) = c.value.ports.iter().map(|p| &p.value).find(|p| {
            matches!(p, PortSpec::Mapping(m) if m.app_protocol.as_deref().is_some_and(|a| !matches!(a, "http" | "http2" | "grpc")))
        }) {
            let at = &c.referenced;
            v.push(
                Problem::at(at, format!("unknown app_protocol `{}`", m.app_protocol.as_deref().unwrap_or_default()))
                    .hint("use http, http2 or grpc"),
            );
        }
    }
}

/// (address, prefix) of an IPv4 CIDR.
pub fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    if prefix > 32 {
        return None;
    }
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    Some((u32::from(ip), prefix))
}
