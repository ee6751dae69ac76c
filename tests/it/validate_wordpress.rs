//! Bad input in the WordPress parts of a stack file: references, databases, instances.

use provision::stack::{self, StackError};
use std::path::Path;

fn template() -> String {
    std::fs::read_to_string(crate::emulator::root().join("templates/wordpress-ec2.yaml")).unwrap()
}

/// Every problem, as `line:col: message`, with the hints.
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

fn edited(from: &str, to: &str) -> String {
    let t = template();
    assert!(t.contains(from), "{from}");
    t.replacen(from, to, 1)
}

/// The line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn references_to_an_undefined_database_point_at_the_value() {
    let yaml = edited("${databases.wpdb.endpoint}", "${databases.wbdp.endpoint}");
    let all = problems(&yaml);
    assert_eq!(all.len(), 1, "{all:?}");
    let line = line_of(&yaml, "wbdp");
    assert_eq!(
        all[0].0,
        format!("{line}:30: database `wbdp` is not defined")
    );
    assert!(all[0].1.contains("`wpdb`"), "{all:?}");
}

#[test]
fn unknown_attributes_and_broken_references_are_caught() {
    let all = problems(&edited(
        "${databases.wpdb.endpoint}",
        "${databases.wpdb.hostname}",
    ));
    assert!(
        all[0].0.ends_with("a database has no attribute `hostname`"),
        "{all:?}"
    );
    assert!(all[0].1.contains("endpoint, port, username"), "{all:?}");
    let all = problems(&edited(
        "${databases.wpdb.endpoint}",
        "${databases.wpdb.endpoint",
    ));
    assert!(all[0].0.contains("without a closing"), "{all:?}");
    let all = problems(&edited(
        "${databases.wpdb.endpoint}",
        "${services.wordpress.name}",
    ));
    assert!(all[0].0.contains("offers nothing to refer to"), "{all:?}");
    // `$$` is a literal dollar.
    stack::parse(
        Path::new("s.yaml"),
        &edited("${databases.wpdb.endpoint}", "$${not.a.ref}"),
    )
    .unwrap();
}

#[test]
fn mounts_need_a_defined_volume() {
    let all = problems(&edited("{ volume: wp-content,", "{ volume: wp-contnet,"));
    assert!(
        all[0].0.ends_with("volume `wp-contnet` is not defined"),
        "{all:?}"
    );
}

#[test]
fn databases_need_a_private_network_in_two_zones() {
    let all = problems(&edited("private_subnets: 2", "private_subnets: 1"));
    assert!(
        all.iter().any(
            |(p, h)| p.contains("RDS needs subnets in at least two availability zones")
                && h.contains("private_subnets: 2")
        ),
        "{all:?}"
    );
    let default_vpc = edited(
        "vpc: { cidr: 10.0.0.0/16, public_subnets: 2, private_subnets: 2 }",
        "vpc: default",
    );
    let all = problems(&default_vpc);
    assert!(
        all.iter()
            .any(|(p, _)| p.ends_with("a database needs the stack's own VPC with private subnets")),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|(p, _)| p.ends_with("container instances need the stack's own VPC")),
        "{all:?}"
    );
}

#[test]
fn database_sizes_and_names_are_checked() {
    let all = problems(&edited(
        "instance_class: db.t3.micro",
        "instance_class: t3.micro",
    ));
    assert!(
        all[0]
            .0
            .ends_with("`t3.micro` is not an RDS instance class"),
        "{all:?}"
    );
    let all = problems(&edited("storage_gb: 20", "storage_gb: 5"));
    assert!(
        all[0]
            .0
            .ends_with("RDS mysql storage must be 20 to 65536 GB, not 5"),
        "{all:?}"
    );
    let all = problems(&edited("username: wordpress ", "username: 1wordpress "));
    assert!(
        all[0]
            .0
            .ends_with("`1wordpress` is not a usable master user name"),
        "{all:?}"
    );
    let all = problems(&edited("    engine: mysql", "    engine: oracle"));
    assert!(all[0].0.contains("unknown variant `oracle`"), "{all:?}");
}

#[test]
fn ec2_services_need_instances_and_memory() {
    let no_instances = {
        let t = template();
        let start = t.find("instances:                     #").unwrap();
        let end = t.find("databases:").unwrap();
        format!("{}{}", &t[..start], &t[end..])
    };
    let all = problems(&no_instances);
    assert!(
        all.iter()
            .any(|(p, _)| p.ends_with("runs on EC2 instances, and the stack defines none")),
        "{all:?}"
    );
    let all = problems(&edited(
        "        memory: 512            # MiB; the container is stopped if it uses more\n",
        "",
    ));
    assert!(
        all[0]
            .0
            .ends_with("container `wordpress` needs `memory` (or `memory_reservation`) on EC2"),
        "{all:?}"
    );
    let all = problems(&edited("  min: 1\n  max: 1", "  min: 2\n  max: 1"));
    assert!(all[0].0.contains("min <= desired <= max"), "{all:?}");
    let all = problems(&edited("stack: wordpress", "stack: ecs-wordpress"));
    assert!(
        all[0].0.contains("cannot start with aws, ecs or fargate"),
        "{all:?}"
    );
}
