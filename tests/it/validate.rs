//! Every kind of bad stack file: rejected with its line, column and a hint.

use provision::stack::{self, StackError};
use std::path::Path;

const GOOD: &str = "\
stack: demo
security_groups:
  web:
    ingress:
      - { port: 80, cidr: 0.0.0.0/0 }
services:
  httpd:
    cpu: 256
    memory: 512
    security_groups: [web]
    containers:
      httpd:
        image: httpd
        ports: [80]
";

/// The one problem reported for `yaml`, as `line:col: message`, with its hint.
fn problem(yaml: &str) -> (String, String) {
    match stack::parse(Path::new("stack.yaml"), yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(StackError::Invalid { problems, .. }) => {
            assert_eq!(problems.len(), 1, "{problems:?}");
            let p = &problems[0];
            (
                format!("{}:{}: {}", p.line, p.col, p.message),
                p.hint.clone().unwrap_or_default(),
            )
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Every problem reported for `yaml`, as `line:col: message`.
fn problems(yaml: &str) -> Vec<String> {
    match stack::parse(Path::new("stack.yaml"), yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(StackError::Invalid { problems, .. }) => problems
            .iter()
            .map(|p| format!("{}:{}: {}", p.line, p.col, p.message))
            .collect(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_good_stack_is_accepted() {
    let s = stack::parse(Path::new("stack.yaml"), GOOD).unwrap();
    assert_eq!(s.name, "demo");
    let ids: Vec<&str> = s.resources.iter().map(|r| r.id.as_str()).collect();
    for id in [
        "security_group.web",
        "iam_role.task_execution",
        "ecs_cluster",
        "log_group.httpd",
        "task_definition.httpd",
        "ecs_service.httpd",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn the_templates_are_valid() {
    let dir = crate::emulator::root().join("templates");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // Stack files only: `up` in templates/ leaves its state in templates/.provision/.
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        stack::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(seen >= 1, "no templates found");
}

#[test]
fn unknown_keys_are_rejected_where_they_are() {
    let (p, hint) = problem(&with("    cpu: 256", "    cpus: 256"));
    assert!(p.starts_with("8:5: unknown field `cpus`"), "{p}");
    assert!(hint.contains("README"), "{hint}");
    let (p, _) = problem(&with(
        "        image: httpd",
        "        image: httpd\n        imagen: x",
    ));
    assert!(p.starts_with("14:9: unknown field `imagen`"), "{p}");
}

#[test]
fn a_missing_field_is_named() {
    let (p, _) = problem(&with("        image: httpd\n", ""));
    assert!(p.contains("missing field `image`"), "{p}");
}

#[test]
fn duplicate_names_are_rejected() {
    let (p, _) = problem(&with("  httpd:\n", "  httpd:\n    cpu: 256\n").replacen(
        "    cpu: 256\n    cpu: 256",
        "    cpu: 256\n    cpu: 512",
        1,
    ));
    assert!(p.to_lowercase().contains("duplicate"), "{p}");
    let dup_service = format!("{GOOD}  httpd:\n    containers: {{}}\n");
    let (p, _) = problem(&dup_service);
    assert!(p.to_lowercase().contains("duplicate"), "{p}");
}

#[test]
fn fargate_sizes_follow_the_aws_table() {
    let (p, hint) = problem(&with("    memory: 512", "    memory: 4096"));
    assert_eq!(p, "9:13: Fargate does not run cpu 256 with memory 4096");
    assert!(hint.contains("512, 1024, 2048"), "{hint}");
    let (p, hint) = problem(&with("    cpu: 256", "    cpu: 300"));
    assert_eq!(p, "8:10: Fargate has no task size with cpu 300");
    assert!(hint.contains("256, 512, 1024"), "{hint}");
    let (p, hint) = problem(&with(
        "    cpu: 256\n    memory: 512\n",
        "    cpu: 1024\n    memory: 512\n",
    ));
    assert!(
        p.ends_with("Fargate does not run cpu 1024 with memory 512"),
        "{p}"
    );
    assert!(hint.contains("2048 to 8192 in steps of 1024"), "{hint}");
    let (p, _) = problem(&with("    memory: 512\n", ""));
    assert!(p.contains("needs both `cpu` and `memory`"), "{p}");
    // Every pair of the table is accepted.
    for cpu in [256u32, 512, 1024, 2048, 4096, 8192, 16384] {
        for mem in provision::stack::fargate::allowed_memory(cpu).unwrap() {
            let yaml = with(
                "    cpu: 256\n    memory: 512\n",
                &format!("    cpu: {cpu}\n    memory: {mem}\n"),
            );
            stack::parse(Path::new("s.yaml"), &yaml).unwrap_or_else(|e| panic!("{cpu}/{mem}: {e}"));
        }
    }
}

#[test]
fn undefined_security_groups_are_caught() {
    let (p, hint) = problem(&with(
        "security_groups: [web]",
        "security_groups: [web, db]",
    ));
    assert_eq!(p, "10:28: security group `db` is not defined");
    assert!(hint.contains("`web`"), "{hint}");
    let (p, _) = problem(&with(
        "{ port: 80, cidr: 0.0.0.0/0 }",
        "{ port: 80, from: nope }",
    ));
    assert!(
        p.starts_with("5:27: security group `nope` is not defined"),
        "{p}"
    );
}

#[test]
fn ingress_needs_exactly_one_source_and_a_real_range() {
    let (p, _) = problem(&with("{ port: 80, cidr: 0.0.0.0/0 }", "{ port: 80 }"));
    assert!(p.contains("exactly one of `cidr` or `from`"), "{p}");
    let (p, _) = problem(&with("cidr: 0.0.0.0/0", "cidr: 0.0.0.0/33"));
    assert!(p.contains("is not an IPv4 CIDR range"), "{p}");
}

#[test]
fn undefined_subnets_are_caught() {
    let (p, hint) = problem(&with(
        "    security_groups: [web]\n",
        "    security_groups: [web]\n    subnets: [private]\n",
    ));
    assert_eq!(p, "11:15: subnet `private` is not defined");
    assert!(hint.contains("default VPC"), "{hint}");
    let own = with(
        "stack: demo\n",
        "stack: demo\nnetwork:\n  vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }\n",
    )
    .replace(
        "    security_groups: [web]\n",
        "    security_groups: [web]\n    subnets: [public-3]\n",
    );
    let (p, hint) = problem(&own);
    assert!(p.ends_with("subnet `public-3` is not defined"), "{p}");
    assert!(hint.contains("public-1, public-2"), "{hint}");
}

#[test]
fn container_problems_are_caught() {
    let (p, _) = problem(&with(
        "        ports: [80]",
        "        ports: [{ container: 80, host: 8080 }]",
    ));
    assert!(p.contains("host port must equal the container port"), "{p}");
    let (p, _) = problem(&with("        ports: [80]", "        ports: [80, 80]"));
    assert!(p.contains("port 80/tcp is used twice"), "{p}");
    let (p, _) = problem(&with("        image: httpd", "        image: \"\""));
    assert!(p.contains("the image is empty"), "{p}");
    let (p, _) = problem(&with(
        "        image: httpd",
        "        image: httpd\n        essential: false",
    ));
    assert!(
        p.contains("at least one container must be essential"),
        "{p}"
    );
}

#[test]
fn bad_names_and_values_are_caught() {
    let (p, _) = problem(&with("stack: demo", "stack: 9lives"));
    assert!(
        p.starts_with("1:8: `9lives` is not a usable stack name"),
        "{p}"
    );
    let (p, _) = problem(&with(
        "stack: demo\n",
        "stack: demo\nnetwork:\n  vpc: mine\n",
    ));
    assert!(p.contains("unknown VPC choice `mine`"), "{p}");
    let (p, _) = problem(&with(
        "    memory: 512\n",
        "    memory: 512\n    log_retention_days: 10\n",
    ));
    assert!(p.contains("cannot keep logs for 10 days"), "{p}");
    let all = problems(&with(
        "    memory: 512\n",
        "    memory: 512\n    launch_type: ec2\n",
    ));
    assert!(
        all.iter()
            .any(|p| p.ends_with("runs on EC2 instances, and the stack defines none")),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|p| p.contains("uses its instance's security groups")),
        "{all:?}"
    );
    let (p, _) = problem(&with(
        "    memory: 512\n",
        "    memory: 512\n    launch_type: lambda\n",
    ));
    assert!(p.contains("unknown variant `lambda`"), "{p}");
}

#[test]
fn a_dependency_cycle_names_its_members() {
    let yaml = with(
        "      - { port: 80, cidr: 0.0.0.0/0 }\n",
        "      - { port: 80, from: api }\n  api:\n    ingress:\n      - { port: 8080, from: web }\n",
    );
    let (p, hint) = problem(&yaml);
    assert!(p.contains("dependency cycle"), "{p}");
    assert!(
        p.contains("security_group.web") && p.contains("security_group.api"),
        "{p}"
    );
    assert!(!p.starts_with("0:0"), "the cycle has a location: {p}");
    assert!(hint.contains("admits itself"), "{hint}");
}

#[test]
fn several_problems_are_reported_together() {
    let yaml = with("    memory: 512", "    memory: 3")
        .replace("security_groups: [web]", "security_groups: [nope]");
    match stack::parse(Path::new("stack.yaml"), &yaml) {
        Err(StackError::Invalid { problems, .. }) => assert_eq!(problems.len(), 2, "{problems:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for junk in [
        "",
        ":",
        "[1, 2",
        "stack: [",
        "\t- x",
        "stack: demo\nservices: 5\n",
        "stack: 12\n",
        "- a\n- b\n",
        "stack: demo\nservices:\n  s:\n    containers:\n      c: { image: x, ports: [\"80\"] }\n",
    ] {
        assert!(
            stack::parse(Path::new("s.yaml"), junk).is_err(),
            "accepted {junk:?}"
        );
    }
}

/// AWS's naming rules, checked before any call, each at its place in the file.
#[test]
fn aws_naming_rules_are_checked_at_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "stack: demo",
            "stack: sg-web",
            "EC2 refuses group names that start with `sg-`",
        ),
        ("stack: demo", "stack: de--mo", "not a usable stack name"),
        ("stack: demo", "stack: demo-", "not a usable stack name"),
        (
            "  web:\n",
            "  web:\n    description: Café «web»\n",
            "not a description EC2 accepts",
        ),
        (
            "stack: demo\n",
            "stack: demo\ntags:\n  aws:team: web\n",
            "`aws:` prefix",
        ),
        (
            "stack: demo\n",
            "stack: demo\ntags:\n  provision:id: x\n",
            "`provision:` prefix",
        ),
        (
            "stack: demo\n",
            "stack: demo\ntags:\n  team: \"web#1\"\n",
            "not one every AWS service accepts",
        ),
        (
            "      httpd:\n        image: httpd",
            "      a-very-long-container-name-that-goes-on-and-on-and-on-forever:\n        image: httpd",
            "longer than ECS's 64 characters",
        ),
    ];
    for (from, to, says) in cases {
        let (p, _) = problem(&with(from, to));
        assert!(p.contains(says), "{to}: {p}");
        assert!(
            p.split(':')
                .next()
                .is_some_and(|l| l.parse::<u32>().is_ok()),
            "{to}: the problem has a line: {p}"
        );
    }
    // A team tag with ordinary characters is fine.
    let ok = with(
        "stack: demo\n",
        "stack: demo\ntags:\n  team: web-platform\n",
    );
    assert!(stack::parse(std::path::Path::new("stack.yaml"), &ok).is_ok());
}
