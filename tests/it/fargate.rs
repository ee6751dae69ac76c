//! The httpd-on-Fargate template, end to end on the emulator, read back through the SDK.

use crate::emulator::{
    self, CALL_LOG, clear_requests, is_mutating, provision, requests, stack_dir, text,
};
use crate::leftovers::{leftovers, tag_filter};
use aws_sdk_ec2::types::Filter;

#[tokio::test]
async fn up_creates_what_the_guide_specifies_and_down_removes_it() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-guide";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let c = emulator::clients().await;
    let default_vpc_before = c
        .ec2
        .describe_vpcs()
        .filters(Filter::builder().name("isDefault").values("true").build())
        .send()
        .await
        .unwrap();
    let default_vpc = default_vpc_before.vpcs()[0].vpc_id().unwrap().to_string();

    let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(out.status.success(), "up failed: {}", text(&out));

    // The task definition: 0.25 vCPU, 0.5 GB, Fargate, awsvpc, Linux/X86_64, httpd on 80/tcp.
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(format!("{stack}-httpd"))
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.cpu(), Some("256"));
    assert_eq!(td.memory(), Some("512"));
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
    let compat: Vec<&str> = td
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(compat, ["FARGATE"]);
    let platform = td.runtime_platform().unwrap();
    assert_eq!(
        platform.cpu_architecture().map(|c| c.as_str()),
        Some("X86_64")
    );
    assert_eq!(
        platform.operating_system_family().map(|c| c.as_str()),
        Some("LINUX")
    );
    let container = &td.container_definitions()[0];
    assert_eq!(container.image(), Some("httpd"));
    assert_eq!(container.essential(), Some(true));
    let port = &container.port_mappings()[0];
    assert_eq!(port.container_port(), Some(80));
    assert_eq!(port.protocol().map(|p| p.as_str()), Some("tcp"));
    let logs = container.log_configuration().unwrap();
    assert_eq!(logs.log_driver().as_str(), "awslogs");
    assert_eq!(
        logs.options().unwrap()["awslogs-group"],
        format!("/ecs/{stack}/httpd")
    );

    // The execution role: trusted by ecs-tasks, with the managed policy attached.
    let role_arn = td.execution_role_arn().unwrap();
    let role_name = role_arn.rsplit('/').next().unwrap();
    let role = c.iam.get_role().role_name(role_name).send().await.unwrap();
    let trust = role.role().unwrap().assume_role_policy_document().unwrap();
    assert!(
        trust.contains("ecs-tasks.amazonaws.com"),
        "trust policy: {trust}"
    );
    let attached = c
        .iam
        .list_attached_role_policies()
        .role_name(role_name)
        .send()
        .await
        .unwrap();
    let policies: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(
        policies,
        ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    );

    // The service: Fargate, one task, public IP on, the web group admitting port 80.
    let svcs = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap();
    let svc = &svcs.services()[0];
    assert_eq!(svc.launch_type().map(|l| l.as_str()), Some("FARGATE"));
    assert_eq!(svc.desired_count(), 1);
    let vpc_conf = svc
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    assert_eq!(
        vpc_conf.assign_public_ip().map(|a| a.as_str()),
        Some("ENABLED")
    );
    assert!(!vpc_conf.subnets().is_empty());
    let sg_id = &vpc_conf.security_groups()[0];
    let sgs = c
        .ec2
        .describe_security_groups()
        .group_ids(sg_id)
        .send()
        .await
        .unwrap();
    let sg = &sgs.security_groups()[0];
    assert_eq!(sg.vpc_id(), Some(default_vpc.as_str()));
    let perm = &sg.ip_permissions()[0];
    assert_eq!(
        (perm.from_port(), perm.to_port(), perm.ip_protocol()),
        (Some(80), Some(80), Some("tcp"))
    );
    assert_eq!(perm.ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
    let tags: Vec<(&str, &str)> = sg
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert!(
        tags.contains(&("provision:stack", stack))
            && tags.contains(&("provision:id", "security_group.web"))
    );

    // The state file is private to its owner.
    let state = dir.path().join(format!(".provision/{stack}.state.json"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let out = provision(dir.path(), &["outputs"]);
    let said = text(&out);
    assert!(said.contains("ecs_service.httpd.name = httpd"), "{said}");
    // The emulator runs no tasks, so there is no address to show yet.
    assert!(
        said.contains("ecs_service.httpd.running_tasks = 0"),
        "{said}"
    );
    assert!(
        said.contains("ecs_service.httpd.public_ips = (none)"),
        "{said}"
    );

    let out = provision(dir.path(), &["down", "--yes"]);
    assert!(out.status.success(), "down failed: {}", text(&out));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
    let vpcs = c
        .ec2
        .describe_vpcs()
        .vpc_ids(&default_vpc)
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "the default VPC must survive down");
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .values(&default_vpc)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        !subnets.subnets().is_empty(),
        "the default subnets must survive down"
    );
}

#[tokio::test]
async fn second_up_makes_no_mutating_call_and_an_image_change_touches_only_the_task() {
    // Alone for the whole test: it reads the emulator's request log.
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-idem";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(out.status.success(), "up failed: {}", text(&out));

    {
        clear_requests();
        let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("No changes"), "{}", text(&out));
        let calls = requests();
        assert!(
            !calls.is_empty(),
            "the second up should have read what exists"
        );
        let mutating: Vec<_> = calls.iter().filter(|(_, a)| is_mutating(a)).collect();
        assert!(
            mutating.is_empty(),
            "second up made mutating calls: {mutating:?}"
        );

        let out = provision(dir.path(), &["plan", "--detailed-exitcode"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }

    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("image: httpd ", "image: nginx ");
    std::fs::write(&file, yaml).unwrap();
    let out = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("containers[0].image: httpd -> nginx"),
        "{}",
        text(&out)
    );

    {
        clear_requests();
        let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
        assert!(out.status.success(), "{}", text(&out));
        let mut mutating: Vec<String> = requests()
            .into_iter()
            .filter(|(_, a)| is_mutating(a))
            .map(|(s, a)| format!("{s}:{a}"))
            .collect();
        mutating.sort();
        assert_eq!(
            mutating,
            ["ecs:RegisterTaskDefinition", "ecs:UpdateService"]
        );
    }
    let c = emulator::clients().await;
    let svcs = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap();
    let td_ref = svcs.services()[0].task_definition().unwrap().to_string();
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(&td_ref)
        .send()
        .await
        .unwrap();
    assert_eq!(
        td.task_definition().unwrap().container_definitions()[0].image(),
        Some("nginx")
    );
    assert_eq!(td.task_definition().unwrap().revision(), 2);

    let out = provision(dir.path(), &["down", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
    // Both revisions the stack registered are deregistered.
    let active = c
        .ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-httpd"))
        .send()
        .await
        .unwrap();
    assert!(
        active.task_definition_arns().is_empty(),
        "{:?}",
        active.task_definition_arns()
    );
}

#[tokio::test]
async fn a_stack_with_its_own_vpc_goes_up_and_down_cleanly() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-ownvpc";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap().replace(
        "  vpc: default ",
        "  vpc: { cidr: 10.30.0.0/16, public_subnets: 2 } ",
    );
    std::fs::write(&file, yaml).unwrap();
    let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(out.status.success(), "{}", text(&out));

    let c = emulator::clients().await;
    let vpcs = c
        .ec2
        .describe_vpcs()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpc.cidr_block(), Some("10.30.0.0/16"));
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    let mut zones: Vec<&str> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    zones.sort();
    zones.dedup();
    assert_eq!(zones.len(), 2, "two subnets in two availability zones");
    assert!(
        subnets
            .subnets()
            .iter()
            .all(|s| s.map_public_ip_on_launch() == Some(true))
    );
    let rts = c
        .ec2
        .describe_route_tables()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    let rt = &rts.route_tables()[0];
    assert!(
        rt.routes()
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
                && r.gateway_id().is_some_and(|g| g.starts_with("igw-")))
    );
    assert_eq!(
        rt.associations()
            .iter()
            .filter(|a| a.subnet_id().is_some())
            .count(),
        2
    );

    let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(text(&out).contains("No changes"), "{}", text(&out));
    let out = provision(dir.path(), &["down", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[tokio::test]
async fn up_without_a_terminal_refuses_unless_yes() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let dir = stack_dir("httpd-fargate.yaml", "e2e-noyes");
    clear_requests();
    let out = provision(dir.path(), &["up", "--no-wait"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    let mutating: Vec<_> = requests()
        .into_iter()
        .filter(|(_, a)| is_mutating(a))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
}
