//! The web service: a load balancer with a stable URL, health checks that decide when a
//! deploy is done, autoscaling that `up` leaves alone, the app's own task role, and a
//! `down` in AWS's order that leaves nothing. Everything is read back through the SDK.

use crate::emulator::{self, CALL_LOG, provision, stack_dir_named, text};
use crate::leftovers::leftovers;
use aws_sdk_ec2::types::Filter;
use provision::aws::Clients;

fn write(dir: &std::path::Path, yaml: &str) {
    std::fs::write(dir.join("stack.yaml"), yaml).unwrap();
}

async fn group_rules(c: &Clients, id: &str) -> Vec<aws_sdk_ec2::types::IpPermission> {
    c.ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .ip_permissions()
        .to_vec()
}

async fn load_balancer(
    c: &Clients,
    name: &str,
) -> aws_sdk_elasticloadbalancingv2::types::LoadBalancer {
    c.elb
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone()
}

async fn target_group(
    c: &Clients,
    name: &str,
) -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
    c.elb
        .describe_target_groups()
        .names(name)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .clone()
}

async fn healthy_targets(c: &Clients, tg_arn: &str) -> usize {
    c.elb
        .describe_target_health()
        .target_group_arn(tg_arn)
        .send()
        .await
        .unwrap()
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                == Some("healthy")
        })
        .count()
}

#[tokio::test]
async fn httpd_on_fargate_behind_a_load_balancer_with_autoscaling() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-alb";
    let dir = stack_dir_named("httpd-fargate-alb.yaml", "web-httpd", stack);
    let up = provision(dir.path(), &["up", "--yes"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        said.contains("2 healthy targets"),
        "up waits for healthy targets: {said}"
    );
    let c = emulator::clients().await;

    // The load balancer: internet-facing, in two zones, its group open on 80 only.
    let lb = load_balancer(&c, stack).await;
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internet-facing"));
    let zones: std::collections::BTreeSet<&str> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    assert_eq!(zones.len(), 2, "{zones:?}");
    let lb_group = lb.security_groups()[0].clone();
    let lb_rules = group_rules(&c, &lb_group).await;
    assert_eq!(lb_rules.len(), 1);
    assert_eq!(lb_rules[0].from_port(), Some(80));
    assert_eq!(lb_rules[0].ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));

    // The target group: IP targets, the file's health check, 30 s deregistration delay.
    let tg = target_group(&c, &format!("{stack}-httpd")).await;
    let tg_arn = tg.target_group_arn().unwrap().to_string();
    assert_eq!(tg.target_type().map(|t| t.as_str()), Some("ip"));
    assert_eq!(tg.health_check_path(), Some("/"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-399"));
    let attrs = c
        .elb
        .describe_target_group_attributes()
        .target_group_arn(&tg_arn)
        .send()
        .await
        .unwrap();
    assert!(attrs.attributes().iter().any(|a| a.key()
        == Some("deregistration_delay.timeout_seconds")
        && a.value() == Some("30")));
    assert_eq!(healthy_targets(&c, &tg_arn).await, 2);

    // Listener 80 forwards every path to the service.
    let listeners = c
        .elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listeners.listeners().len(), 1);
    assert_eq!(listeners.listeners()[0].port(), Some(80));
    let rules = c
        .elb
        .describe_rules()
        .listener_arn(listeners.listeners()[0].listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let rule = rules
        .rules()
        .iter()
        .find(|r| !r.is_default().unwrap_or(false))
        .unwrap();
    assert_eq!(rule.actions()[0].target_group_arn(), Some(tg_arn.as_str()));

    // The service: its load balancer entry, grace period, and a group that admits the
    // load balancer's group alone on 80; nothing admits the internet.
    let svc = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    assert_eq!(
        svc.load_balancers()[0].target_group_arn(),
        Some(tg_arn.as_str())
    );
    assert_eq!(svc.load_balancers()[0].container_name(), Some("httpd"));
    assert_eq!(svc.load_balancers()[0].container_port(), Some(80));
    assert_eq!(svc.health_check_grace_period_seconds(), Some(60));
    let groups = svc
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| a.security_groups().to_vec())
        .unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let rules = group_rules(&c, &groups[0]).await;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].from_port(), Some(80));
    assert!(
        rules[0].ip_ranges().is_empty(),
        "no address range reaches the service"
    );
    assert_eq!(
        rules[0].user_id_group_pairs()[0].group_id(),
        Some(lb_group.as_str())
    );

    // The container's own health check.
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(svc.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let hc = td.task_definition().unwrap().container_definitions()[0]
        .health_check()
        .unwrap()
        .clone();
    assert_eq!(hc.command()[0], "CMD-SHELL");
    assert_eq!(hc.interval(), Some(30));

    // Autoscaling: 1 to 4 on 60 % CPU.
    let targets = c
        .scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_ids(format!("service/{stack}/httpd"))
        .send()
        .await
        .unwrap();
    let target = &targets.scalable_targets()[0];
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 4));
    let policies = c
        .scaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(format!("service/{stack}/httpd"))
        .send()
        .await
        .unwrap();
    let conf = policies.scaling_policies()[0]
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(conf.target_value(), 60.0);

    // `outputs` gives the stable URL.
    let outputs = provision(dir.path(), &["outputs"]);
    let dns = lb.dns_name().unwrap();
    assert!(
        text(&outputs).contains(&format!("listener_rule.httpd.url = http://{dns}/")),
        "{}",
        text(&outputs)
    );

    // The scaler moves the desired count: the plan leaves it alone, and so does `up`.
    c.ecs
        .update_service()
        .cluster(stack)
        .service("httpd")
        .desired_count(3)
        .send()
        .await
        .unwrap();
    let plan = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let again = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(again.status.success(), "{}", text(&again));
    let svc = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap();
    assert_eq!(svc.services()[0].desired_count(), 3);

    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    // The load balancer's interfaces held its subnets and group until it was gone.
    assert!(text(&down).contains("(ELB app/"), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[tokio::test]
async fn wordpress_on_ec2_behind_a_load_balancer_uses_dynamic_host_ports() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-wpalb";
    let dir = stack_dir_named("wordpress-ec2-alb.yaml", "wordpress-alb", stack);
    let up = provision(dir.path(), &["up", "--yes"]);
    assert!(up.status.success(), "{}", text(&up));
    let c = emulator::clients().await;
    let tg = target_group(&c, &format!("{stack}-wordpress")).await;
    assert_eq!(tg.target_type().map(|t| t.as_str()), Some("instance"));
    assert_eq!(healthy_targets(&c, tg.target_group_arn().unwrap()).await, 1);
    // No fixed host port: ECS picks one from the ephemeral range.
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(format!("{stack}-wordpress"))
        .send()
        .await
        .unwrap();
    let port = &td.task_definition().unwrap().container_definitions()[0].port_mappings()[0];
    assert_eq!(port.container_port(), Some(80));
    assert!(port.host_port().is_none_or(|p| p == 0), "{port:?}");
    // The instances admit that range from the load balancer's group, and nothing else.
    let lb = load_balancer(&c, stack).await;
    let lb_group = lb.security_groups()[0].clone();
    let lts = c
        .ec2
        .describe_launch_templates()
        .filters(
            Filter::builder()
                .name("tag:provision:stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let v = c
        .ec2
        .describe_launch_template_versions()
        .launch_template_id(lts.launch_templates()[0].launch_template_id().unwrap())
        .send()
        .await
        .unwrap();
    let groups = v.launch_template_versions()[0]
        .launch_template_data()
        .unwrap()
        .security_group_ids()
        .to_vec();
    let mut opened = Vec::new();
    for g in &groups {
        for r in group_rules(&c, g).await {
            assert!(
                r.ip_ranges().is_empty(),
                "no address range reaches the instances: {r:?}"
            );
            opened.push((
                r.from_port(),
                r.to_port(),
                r.user_id_group_pairs()[0].group_id().map(str::to_string),
            ));
        }
    }
    assert_eq!(opened, vec![(Some(32768), Some(65535), Some(lb_group))]);
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// HTTPS with the certificate, 80 redirecting to it, and two services on one load balancer
/// by path; the catch-all service's rule comes after the specific one.
#[tokio::test]
async fn https_with_a_redirect_and_two_services_by_path() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-https";
    let dir = tempfile::tempdir().unwrap();
    let cert = emulator::acm_certificate("www.example.com");
    let cert = cert.as_str();
    write(
        dir.path(),
        &format!(
            r#"stack: {stack}
network:
  vpc: {{ cidr: 10.3.0.0/16, public_subnets: 2 }}
load_balancer:
  certificate_arn: {cert}
  allow: [203.0.113.0/24]
services:
  web:
    cpu: 256
    memory: 512
    public_ip: true
    containers:
      web: {{ image: httpd, ports: [80] }}
    expose: {{ port: 80 }}
  api:
    cpu: 256
    memory: 512
    public_ip: true
    containers:
      api: {{ image: httpd, ports: [8080] }}
    expose: {{ port: 8080, path: /api/* }}
"#
        ),
    );
    let up = provision(dir.path(), &["up", "--yes"]);
    assert!(up.status.success(), "{}", text(&up));
    let c = emulator::clients().await;
    let lb = load_balancer(&c, stack).await;
    let rules = group_rules(&c, &lb.security_groups()[0]).await;
    let mut ports: Vec<(Option<i32>, Option<&str>)> = rules
        .iter()
        .map(|r| (r.from_port(), r.ip_ranges()[0].cidr_ip()))
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        vec![
            (Some(80), Some("203.0.113.0/24")),
            (Some(443), Some("203.0.113.0/24"))
        ]
    );
    let listeners = c
        .elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    let by_port = |p: i32| {
        listeners
            .listeners()
            .iter()
            .find(|l| l.port() == Some(p))
            .unwrap()
            .clone()
    };
    let http = by_port(80);
    let redirect = http.default_actions()[0].redirect_config().unwrap();
    assert_eq!(redirect.protocol(), Some("HTTPS"));
    assert_eq!(redirect.port(), Some("443"));
    assert_eq!(redirect.status_code().map(|c| c.as_str()), Some("HTTP_301"));
    let https = by_port(443);
    assert_eq!(https.protocol().map(|p| p.as_str()), Some("HTTPS"));
    assert_eq!(https.certificates()[0].certificate_arn(), Some(cert));
    let rules = c
        .elb
        .describe_rules()
        .listener_arn(https.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let api = target_group(&c, &format!("{stack}-api")).await;
    let web = target_group(&c, &format!("{stack}-web")).await;
    let mut routed: Vec<(i64, String, String)> = rules
        .rules()
        .iter()
        .filter(|r| !r.is_default().unwrap_or(false))
        .map(|r| {
            (
                r.priority().unwrap().parse().unwrap(),
                r.conditions()[0]
                    .path_pattern_config()
                    .map(|p| p.values().join(","))
                    .unwrap_or_else(|| r.conditions()[0].values().join(",")),
                r.actions()[0].target_group_arn().unwrap().to_string(),
            )
        })
        .collect();
    routed.sort();
    assert_eq!(
        routed
            .iter()
            .map(|(_, p, tg)| (p.as_str(), tg.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("/api/*", api.target_group_arn().unwrap()),
            ("/*", web.target_group_arn().unwrap()),
        ],
        "{routed:?}"
    );
    // The same priorities on the next run.
    let again = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let outputs = text(&provision(dir.path(), &["outputs"]));
    assert!(
        outputs.contains(&format!(
            "listener_rule.api.url = https://{}/api/",
            lb.dns_name().unwrap()
        )),
        "{outputs}"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// Tasks that fail the load balancer's health checks: `up` shows the target health reason
/// while it waits, and fails with the deployment-failed code and ECS's reason.
#[tokio::test]
async fn unhealthy_targets_fail_the_deploy_with_their_reason() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-unhealthy";
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &format!(
            r#"stack: {stack}
network:
  vpc: {{ cidr: 10.4.0.0/16, public_subnets: 2 }}
services:
  web:
    cpu: 256
    memory: 512
    public_ip: true
    containers:
      web: {{ image: example/unhealthy, ports: [80] }}
    expose: {{ port: 80 }}
"#
        ),
    );
    let up = provision(dir.path(), &["up", "--yes"]);
    let said = text(&up);
    assert_eq!(up.status.code(), Some(3), "{said}");
    assert!(
        said.contains("unhealthy (Target.FailedHealthChecks: Health checks failed)"),
        "{said}"
    );
    assert!(
        said.contains("Task failed ELB health checks in (target-group"),
        "{said}"
    );
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// The app's own task role, trusted by ECS tasks, with the file's statements; the execution
/// role may read an SSM parameter secret.
#[tokio::test]
async fn a_task_role_of_its_own_and_ssm_secrets() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-taskrole";
    let dir = tempfile::tempdir().unwrap();
    let param = "arn:aws:ssm:us-east-1:123456789012:parameter/e2e-taskrole/token";
    write(
        dir.path(),
        &format!(
            r#"stack: {stack}
network:
  vpc: {{ cidr: 10.5.0.0/16, public_subnets: 2 }}
security_groups:
  app: {{}}
services:
  app:
    cpu: 256
    memory: 512
    public_ip: true
    security_groups: [app]
    task_role:
      statements:
        - {{ actions: [s3:GetObject], resources: ["arn:aws:s3:::e2e-bucket/*"] }}
    containers:
      app:
        image: httpd
        secrets: {{ TOKEN: {param} }}
"#
        ),
    );
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    let c = emulator::clients().await;
    let role = c
        .iam
        .get_role()
        .role_name(format!("{stack}-app-task"))
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    let trust = crate::wordpress::percent_decoded(role.assume_role_policy_document().unwrap());
    assert!(trust.contains("ecs-tasks.amazonaws.com"), "{trust}");
    let policy = c
        .iam
        .get_role_policy()
        .role_name(format!("{stack}-app-task"))
        .policy_name(format!("{stack}-app-task"))
        .send()
        .await
        .unwrap();
    let doc = crate::wordpress::percent_decoded(policy.policy_document());
    assert!(
        doc.contains("s3:GetObject") && doc.contains("arn:aws:s3:::e2e-bucket/*"),
        "{doc}"
    );
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(format!("{stack}-app"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        td.task_definition().unwrap().task_role_arn(),
        Some(role.arn())
    );
    let secrets = c
        .iam
        .get_role_policy()
        .role_name(format!("{stack}-task-execution"))
        .policy_name(format!("{stack}-app-secrets"))
        .send()
        .await
        .unwrap();
    let doc = crate::wordpress::percent_decoded(secrets.policy_document());
    assert!(
        doc.contains("ssm:GetParameters") && doc.contains(param),
        "{doc}"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// ECS refuses a target group that no load balancer uses; the emulator does too.
#[tokio::test]
async fn the_emulator_refuses_a_target_group_without_a_load_balancer() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let tg = c
        .elb
        .create_target_group()
        .name("e2e-lonely")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    c.ecs
        .create_cluster()
        .cluster_name("e2e-lonely")
        .send()
        .await
        .unwrap();
    let td = c
        .ecs
        .register_task_definition()
        .family("e2e-lonely")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("httpd")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let refused = c
        .ecs
        .create_service()
        .cluster("e2e-lonely")
        .service_name("web")
        .task_definition(td.task_definition().unwrap().task_definition_arn().unwrap())
        .desired_count(1)
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(&tg_arn)
                .container_name("web")
                .container_port(80)
                .build(),
        )
        .send()
        .await;
    let err = refused.expect_err("AWS refuses it");
    let meta = aws_smithy_types::error::metadata::ProvideErrorMetadata::meta(&err);
    assert_eq!(meta.code(), Some("InvalidParameterException"));
    assert!(
        meta.message()
            .unwrap()
            .contains("does not have an associated load balancer")
    );
    c.elb
        .delete_target_group()
        .target_group_arn(&tg_arn)
        .send()
        .await
        .unwrap();
    c.ecs
        .delete_cluster()
        .cluster("e2e-lonely")
        .send()
        .await
        .unwrap();
    c.ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}
