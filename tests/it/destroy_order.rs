//! The order `down` deletes the WordPress stack in, checked against what AWS enforces.
//! The emulator forgives most wrong orders, so these rules are tested here, on the plan
//! and the executor, not left to the emulator.

use crate::fake::Fake;
use provision::exec::{self, Options};
use provision::plan;
use provision::state::{self, StateWriter};
use std::sync::Arc;
use std::time::Duration;

/// (first, then): AWS refuses to delete `then` while `first` exists.
const RULES: &[(&str, &str, &str)] = &[
    (
        "ecs_service.wordpress",
        "task_definition.wordpress",
        "deregister task definitions after the service is gone",
    ),
    (
        "ecs_service.wordpress",
        "cluster_capacity_providers",
        "a capacity provider in use by a service cannot be detached",
    ),
    (
        "cluster_capacity_providers",
        "capacity_provider.instances",
        "a capacity provider attached to a cluster cannot be deleted",
    ),
    (
        "capacity_provider.instances",
        "autoscaling_group.instances",
        "a group used by a capacity provider cannot be deleted",
    ),
    (
        "autoscaling_group.instances",
        "ecs_cluster",
        "a cluster with registered instances cannot be deleted",
    ),
    (
        "ecs_service.wordpress",
        "ecs_cluster",
        "a cluster with services cannot be deleted",
    ),
    (
        "cluster_capacity_providers",
        "ecs_cluster",
        "detach the capacity provider before the cluster goes",
    ),
    (
        "autoscaling_group.instances",
        "launch_template.instances",
        "the group launches from the template",
    ),
    (
        "autoscaling_group.instances",
        "instance_profile.instance",
        "running instances use the profile",
    ),
    (
        "instance_profile.instance",
        "iam_role.instance",
        "a role in an instance profile cannot be deleted",
    ),
    (
        "iam_role_policy.wordpress_secrets",
        "iam_role.task_execution",
        "a role with policies cannot be deleted",
    ),
    (
        "db_instance.wpdb",
        "db_subnet_group.wpdb",
        "a subnet group in use by a database cannot be deleted",
    ),
    (
        "db_instance.wpdb",
        "security_group.db",
        "a group used by a database cannot be deleted",
    ),
    (
        "security_group.db",
        "security_group.instances",
        "a group referenced by another's rule cannot be deleted",
    ),
    (
        "launch_template.instances",
        "security_group.instances",
        "(ordering) the template names the group",
    ),
    (
        "autoscaling_group.instances",
        "security_group.instances",
        "instances use the group",
    ),
    (
        "autoscaling_group.instances",
        "subnet.public-1",
        "a subnet with instances cannot be deleted",
    ),
    (
        "db_subnet_group.wpdb",
        "subnet.private-1",
        "a subnet in a DB subnet group cannot be deleted",
    ),
    (
        "route_table.public",
        "internet_gateway",
        "the route uses the gateway",
    ),
    (
        "autoscaling_group.instances",
        "route_table.public",
        "the table detaches the gateway, which AWS refuses while public addresses are mapped",
    ),
    (
        "route_table_association.public-1",
        "subnet.public-1",
        "disassociate before deleting the subnet",
    ),
    (
        "route_table_association.public-1",
        "route_table.public",
        "a table with associations cannot be deleted",
    ),
    (
        "autoscaling_group.instances",
        "route_table_association.public-1",
        "instances in the public subnet reach the internet through the association",
    ),
    (
        "route_table.public",
        "vpc",
        "the table detaches the gateway: a VPC with an attached gateway cannot be deleted",
    ),
    (
        "subnet.public-1",
        "vpc",
        "a VPC with subnets cannot be deleted",
    ),
    (
        "security_group.instances",
        "vpc",
        "a VPC with security groups cannot be deleted",
    ),
];

#[tokio::test]
async fn down_deletes_the_wordpress_stack_in_an_order_aws_accepts() {
    let path = crate::emulator::root().join("templates/wordpress-ec2.yaml");
    let stack = provision::stack::load(&path).unwrap();
    let fake = Arc::new(Fake::default());
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("wp.state.json");
    let opts = Options {
        parallelism: 10,
        wait: false,
        timeout: Duration::from_secs(5),
        tags: vec![],
        events: provision::events::Emitter::silent(),
    };

    let plan = plan::plan_up(
        &stack,
        &state::load(&state_path, "wordpress").unwrap(),
        fake.clone(),
        4,
        false,
    )
    .await
    .unwrap();
    let writer = Arc::new(StateWriter::new(
        state_path.clone(),
        state::load(&state_path, "wordpress").unwrap(),
    ));
    exec::execute(&plan, fake.clone(), writer, &opts)
        .await
        .unwrap();
    // Creation follows the same rules the other way round.
    for (first, then, why) in RULES {
        assert!(
            fake.pos(&format!("create {then}")) < fake.pos(&format!("create {first}")),
            "create: {then} before {first}: {why}"
        );
    }

    fake.calls.lock().unwrap().clear();
    let owned = state::load(&state_path, "wordpress").unwrap();
    let down = plan::plan_down("wordpress", &owned).unwrap();
    let writer = Arc::new(StateWriter::new(state_path.clone(), owned));
    exec::execute(&down, fake.clone(), writer, &opts)
        .await
        .unwrap();
    for (first, then, why) in RULES {
        assert!(
            fake.pos(&format!("delete {first}")) < fake.pos(&format!("delete {then}")),
            "delete: {first} before {then}: {why}"
        );
    }
    assert!(
        state::load(&state_path, "wordpress")
            .unwrap()
            .resources
            .is_empty()
    );

    // The plan says what happens to the data.
    let db = down
        .steps
        .iter()
        .find(|s| s.id == "db_instance.wpdb")
        .unwrap();
    assert!(
        db.reason.as_deref().unwrap().contains("final snapshot"),
        "{:?}",
        db.reason
    );
}
