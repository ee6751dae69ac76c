//! The load balancer, exposed services, autoscaling, container health checks and task
//! roles: what AWS would refuse, refused here with the place in the file.

use super::Problem;
use super::network::parse_cidr;
use crate::stack::model::*;

/// A number within AWS's bounds, or a problem at its place.
fn within(v: &Option<Located<u32>>, lo: u32, hi: u32, what: &str, out: &mut Vec<Problem>) {
    if let Some(x) = v
        && !(lo..=hi).contains(&x.value)
    {
        out.push(
            Problem::at(
                &x.referenced,
                format!("{what} must be from {lo} to {hi}, not {}", x.value),
            )
            .hint(format!("write a number from {lo} to {hi}")),
        );
    }
}

pub fn check_load_balancer(file: &StackFile, v: &mut Vec<Problem>) {
    let exposed: Vec<(&String, &Located<Service>)> = file
        .services
        .iter()
        .filter(|(_, s)| s.value.expose.is_some())
        .collect();
    if let Some(lb) = &file.load_balancer {
        if exposed.is_empty() {
            v.push(
                Problem::at(&lb.referenced, "a load balancer with no service behind it")
                    .hint("add `expose: { port: 80 }` to a service, or remove `load_balancer:`"),
            );
        }
        if let Some(cert) = &lb.value.certificate_arn {
            let ok = cert.value.starts_with("arn:")
                && (cert.value.contains(":acm:") && cert.value.contains(":certificate/")
                    || cert.value.contains(":server-certificate/"));
            if !ok {
                v.push(
                    Problem::at(&cert.referenced, format!("`{}` is not a certificate ARN", cert.value))
                        .hint("write the ARN of an ACM certificate, such as arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-…"),
                );
            }
        }
        for a in &lb.value.allow {
            if parse_cidr(&a.value).is_none() {
                v.push(
                    Problem::at(&a.referenced, format!("`{}` is not an IPv4 range", a.value))
                        .hint("write a range such as 0.0.0.0/0 or 203.0.113.0/24"),
                );
            }
        }
    }
    let Some((_, first)) = exposed.first() else {
        return;
    };
    if let Some(Network { vpc }) = &file.network
        && let VpcChoice::Own(own) = &vpc.value
        && own.public_subnets < 2
    {
        v.push(
            Problem::at(
                &first.referenced,
                "a load balancer needs public subnets in two availability zones",
            )
            .hint("set `public_subnets: 2` in the VPC"),
        );
    }
    let mut seen: Vec<(Option<&str>, Option<&str>, &str)> = Vec::new();
    for (name, svc) in &exposed {
        let Some(e) = &svc.value.expose else { continue };
        let key = (
            e.value.path.as_ref().map(|p| p.value.as_str()),
            e.value.host.as_ref().map(|h| h.value.as_str()),
        );
        let key = match key {
            (None, None) => (Some("/*"), None),
            k => k,
        };
        if let Some((_, _, other)) = seen.iter().find(|(p, h, _)| (*p, *h) == key) {
            v.push(
                Problem::at(
                    &e.referenced,
                    format!("service `{name}` is exposed at the same path and host as `{other}`"),
                )
                .hint(
                    "give each exposed service its own `path: /name/*` or `host: name.example.com`",
                ),
            );
        }
        seen.push((key.0, key.1, name));
    }
}

pub fn check_exposure(name: &str, s: &Service, v: &mut Vec<Problem>) {
    let Some(e) = &s.expose else { return };
    let e = &e.value;
    let ports: Vec<&Located<PortSpec>> = s
        .containers
        .value
        .values()
        .flat_map(|c| c.value.ports.iter())
        .collect();
    match ports
        .iter()
        .find(|p| p.value.container_port() == e.port.value)
    {
        None => {
            let listed: Vec<String> = ports
                .iter()
                .map(|p| p.value.container_port().to_string())
                .collect();
            v.push(
                Problem::at(
                    &e.port.referenced,
                    format!(
                        "no container of service `{name}` listens on port {}",
                        e.port.value
                    ),
                )
                .hint(if listed.is_empty() {
                    format!(
                        "add `ports: [{}]` to the container that serves the requests",
                        e.port.value
                    )
                } else {
                    format!("expose one of the containers' ports: {}", listed.join(", "))
                }),
            );
        }
        Some(p)
            if s.launch_type.value == LaunchType::Ec2
                && p.value.host_port().is_some_and(|h| h != 0) =>
        {
            v.push(
                Problem::at(&p.referenced, format!("behind the load balancer, ECS picks the host port of port {}", e.port.value))
                    .hint(format!("write the port as `{}`, without `host:`: the load balancer finds the dynamic host port", e.port.value)),
            );
        }
        Some(_) => {}
    }
    if let Some(p) = &e.path
        && (!p.value.starts_with('/') || p.value.len() > 128)
    {
        v.push(
            Problem::at(
                &p.referenced,
                format!("`{}` is not a path pattern", p.value),
            )
            .hint("write a path that starts with / such as /api/*, at most 128 characters"),
        );
    }
    if let Some(h) = &e.host
        && (h.value.is_empty()
            || h.value.contains("://")
            || h.value.contains('/')
            || h.value.len() > 128)
    {
        v.push(
            Problem::at(&h.referenced, format!("`{}` is not a host name", h.value))
                .hint("write the name alone, such as www.example.com"),
        );
    }
    if let Some(hc) = &e.health_check {
        let hc = &hc.value;
        if let Some(p) = &hc.path
            && !p.value.starts_with('/')
        {
            v.push(
                Problem::at(&p.referenced, format!("`{}` is not a path", p.value))
                    .hint("write a path that starts with /, such as /health"),
            );
        }
        if let Some(c) = &hc.healthy_codes
            && !codes_ok(&c.value)
        {
            v.push(
                Problem::at(&c.referenced, format!("`{}` is not a list of HTTP codes", c.value))
                    .hint("write codes from 200 to 499 such as \"200\", \"200-399\" or \"200,302\" (quoted)"),
            );
        }
        within(&hc.interval, 5, 300, "the health check interval", v);
        within(&hc.healthy_threshold, 2, 10, "the healthy threshold", v);
        within(&hc.unhealthy_threshold, 2, 10, "the unhealthy threshold", v);
    }
    within(
        &e.deregistration_delay,
        0,
        3600,
        "the deregistration delay",
        v,
    );
    within(&e.grace_period, 0, 2_147_483_647, "the grace period", v);
}

/// "200", "200-399", "200,302": codes from 200 to 499.
fn codes_ok(s: &str) -> bool {
    let code = |c: &str| c.len() == 3 && c.parse::<u16>().is_ok_and(|n| (200..=499).contains(&n));
    !s.is_empty()
        && s.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => code(a) && code(b) && a <= b,
            None => code(part),
        })
}

pub fn check_autoscaling(name: &str, s: &Service, v: &mut Vec<Problem>) {
    let Some(a) = &s.autoscaling else { return };
    let a_loc = &a.referenced;
    let a = &a.value;
    if a.max.value < 1 || a.min.value > a.max.value {
        v.push(
            Problem::at(
                &a.max.referenced,
                format!(
                    "autoscaling of `{name}` needs 1 <= max and min <= max (min {}, max {})",
                    a.min.value, a.max.value
                ),
            )
            .hint("for example `autoscaling: { min: 1, max: 4, cpu: 60 }`"),
        );
    }
    if a.cpu.is_none() && a.memory.is_none() && a.requests.is_none() {
        v.push(
            Problem::at(a_loc, format!("autoscaling of `{name}` follows no metric"))
                .hint("add `cpu: 60` (percent), `memory: 70` (percent) or `requests: 1000` (per task per minute)"),
        );
    }
    within(&a.cpu, 1, 100, "the CPU target (percent)", v);
    within(&a.memory, 1, 100, "the memory target (percent)", v);
    within(&a.requests, 1, 1_000_000, "the requests target", v);
    if let Some(r) = &a.requests
        && s.expose.is_none()
    {
        v.push(
            Problem::at(
                &r.referenced,
                "scaling on requests needs the load balancer's counts",
            )
            .hint("add `expose: { port: … }` to the service, or scale on `cpu` or `memory`"),
        );
    }
}

pub fn check_container_health(c: &Container, v: &mut Vec<Problem>) {
    let Some(h) = &c.health_check else { return };
    let h = &h.value;
    if h.command.value.trim().is_empty() {
        v.push(
            Problem::at(&h.command.referenced, "the health check has no command")
                .hint("write a shell command that exits 0 when healthy, such as \"curl -f http://localhost/ || exit 1\""),
        );
    }
    within(&h.interval, 5, 300, "the health check interval", v);
    within(&h.timeout, 2, 60, "the health check timeout", v);
    within(&h.retries, 1, 10, "the health check retries", v);
    within(&h.start_period, 0, 300, "the health check start period", v);
}

pub fn check_task_role(r: &Located<TaskRole>, v: &mut Vec<Problem>) {
    let TaskRole::Own(own) = &r.value else { return };
    if own.statements.is_empty() && own.managed_policies.is_empty() {
        v.push(
            Problem::at(&r.referenced, "the task role grants nothing")
                .hint("add `statements: [{ actions: [s3:GetObject], resources: [arn:aws:s3:::bucket/*] }]` or `managed_policies: [ARN]`"),
        );
    }
    for st in &own.statements {
        if st.value.actions.is_empty() || st.value.resources.is_empty() {
            v.push(
                Problem::at(&st.referenced, "a statement needs actions and resources")
                    .hint("for example `{ actions: [s3:GetObject], resources: [\"arn:aws:s3:::bucket/*\"] }`"),
            );
        }
        for a in &st.value.actions {
            if !(a == "*"
                || a.split_once(':')
                    .is_some_and(|(svc, op)| !svc.is_empty() && !op.is_empty()))
            {
                v.push(
                    Problem::at(&st.referenced, format!("`{a}` is not an IAM action"))
                        .hint("write service:Action, such as s3:GetObject or sqs:SendMessage"),
                );
            }
        }
    }
    for p in &own.managed_policies {
        if !(p.value.starts_with("arn:") && p.value.contains(":policy/")) {
            v.push(
                Problem::at(&p.referenced, format!("`{}` is not a policy ARN", p.value))
                    .hint("write an ARN such as arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
            );
        }
    }
}
