//! Bad load balancer, exposure, autoscaling, health check and task role settings: rejected
//! before any AWS call, with the line, the column and what to write instead.

use provision::stack::{self, StackError};
use std::path::Path;

/// A Fargate service `web` exposed on port 80, with `extra` lines added to it, and `top`
/// lines at the top level.
fn web(extra: &str, top: &str) -> String {
    format!(
        "stack: demo
network:
  vpc: {{ cidr: 10.0.0.0/16, public_subnets: 2 }}
{top}services:
  web:
    cpu: 256
    memory: 512
    containers:
      httpd:
        image: httpd
        ports: [80]
{extra}"
    )
}

fn problems(yaml: &str) -> Vec<(String, String)> {
    match stack::parse(Path::new("stack.yaml"), yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(StackError::Invalid { problems, .. }) => problems
            .iter()
            .map(|p| {
                (
                    format!("{}:{}: {}", p.line, p.col, p.message),
                    p.hint.clone().unwrap_or_default(),
                )
            })
            .collect(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn accepted(yaml: &str) {
    if let Err(e) = stack::parse(Path::new("stack.yaml"), yaml) {
        panic!("refused: {e}\n{yaml}");
    }
}

#[test]
fn an_exposed_service_is_accepted_without_a_group_of_its_own() {
    accepted(&web(
        "    expose: { port: 80 }\n    autoscaling: { min: 1, max: 4, cpu: 60 }\n",
        "",
    ));
}

#[test]
fn the_exposed_port_must_be_a_container_port() {
    let p = problems(&web("    expose: { port: 8080 }\n", ""));
    assert_eq!(
        p[0].0,
        "12:21: no container of service `web` listens on port 8080"
    );
    assert_eq!(p[0].1, "expose one of the containers' ports: 80");
}

#[test]
fn a_load_balancer_needs_a_service_behind_it() {
    let yaml = web(
        "    security_groups: []\n",
        "load_balancer: { allow: [0.0.0.0/0] }\n",
    )
    .replace("    security_groups: []\n", "");
    let p = problems(&yaml);
    assert!(
        p.iter().any(
            |(m, h)| m.starts_with("4:16: a load balancer with no service behind it")
                && h.contains("expose")
        ),
        "{p:?}"
    );
}

#[test]
fn bad_load_balancer_settings_are_named() {
    let p = problems(&web(
        "    expose: { port: 80, health_check: { healthy_codes: \"2xx\", interval: 1 } }\n",
        "load_balancer: { certificate_arn: my-cert, allow: [everyone] }\n",
    ));
    let messages: Vec<&str> = p.iter().map(|(m, _)| m.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("`my-cert` is not a certificate ARN")),
        "{p:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("`everyone` is not an IPv4 range")),
        "{p:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("`2xx` is not a list of HTTP codes")),
        "{p:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("the health check interval must be from 5 to 300, not 1")),
        "{p:?}"
    );
}

#[test]
fn two_services_at_the_same_path_are_refused() {
    let yaml = web("    expose: { port: 80 }\n", "")
        + "  other:\n    cpu: 256\n    memory: 512\n    containers:\n      app: { image: httpd, ports: [80] }\n    expose: { port: 80 }\n";
    let p = problems(&yaml);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].0
            .ends_with("service `other` is exposed at the same path and host as `web`"),
        "{p:?}"
    );
}

#[test]
fn autoscaling_needs_sane_bounds_and_a_metric() {
    let p = problems(&web("    autoscaling: { min: 3, max: 2 }\n", ""));
    let messages: Vec<&str> = p.iter().map(|(m, _)| m.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("needs 1 <= max and min <= max (min 3, max 2)")),
        "{p:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("follows no metric")),
        "{p:?}"
    );
    let p = problems(&web(
        "    autoscaling: { min: 1, max: 2, requests: 500 }\n",
        "",
    ));
    assert!(
        p.iter()
            .any(|(m, _)| m == "12:46: scaling on requests needs the load balancer's counts"),
        "{p:?}"
    );
}

#[test]
fn an_ec2_service_behind_the_load_balancer_takes_a_dynamic_host_port() {
    let yaml = "stack: demo
network:
  vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }
security_groups:
  instances: {}
instances: { instance_type: t3.small, security_groups: [instances] }
services:
  web:
    launch_type: ec2
    containers:
      httpd:
        image: httpd
        memory: 256
        ports: [{ container: 80, host: 80 }]
    expose: { port: 80 }
";
    let p = problems(yaml);
    assert_eq!(
        p[0].0,
        "14:17: behind the load balancer, ECS picks the host port of port 80"
    );
    assert!(p[0].1.contains("without `host:`"), "{p:?}");
}

#[test]
fn container_health_checks_and_task_roles_are_checked() {
    let yaml = web("", "")
        .replace(
            "        ports: [80]\n",
            "        ports: [80]\n        health_check: { command: \"curl -f http://localhost/\", retries: 20 }\n",
        )
        + "    task_role: { statements: [{ actions: [GetObject], resources: [\"*\"] }] }\n    security_groups: []\n";
    let p = problems(&yaml);
    let messages: Vec<&str> = p.iter().map(|(m, _)| m.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("the health check retries must be from 1 to 10, not 20")),
        "{p:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("`GetObject` is not an IAM action")),
        "{p:?}"
    );
}
