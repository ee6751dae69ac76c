//! AWS's delays on the emulator: the engine waits them out and says what it waits for.

use crate::emulator::{self, CALL_LOG, Delays, provision, stack_dir, text};
use crate::leftovers::leftovers;

#[tokio::test]
async fn a_role_ecs_cannot_assume_yet_is_waited_for() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-iamwait";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let delays = Delays::set(serde_json::json!({"iam_window": 3}));
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    drop(delays);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        said.contains("ecs_service.httpd: ECS cannot assume the new role yet; waiting for IAM"),
        "{said}"
    );
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// EC2 is eventually consistent: right after a create, the calls that follow it may answer
/// NotFound. The engine waits that out, says so, and the stack goes up and down cleanly.
#[tokio::test]
async fn ec2_calls_right_after_a_create_wait_for_it_to_be_visible() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-eventual";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        format!(
            "stack: {stack}\nnetwork:\n  vpc: {{ cidr: 10.8.0.0/16, public_subnets: 1 }}\nsecurity_groups:\n  web:\n    ingress:\n      - {{ port: 80, cidr: 0.0.0.0/0 }}\n"
        ),
    )
    .unwrap();
    let delays = Delays::set(serde_json::json!({"ec2_eventual": 1.5}));
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    drop(delays);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    for op in [
        "ModifyVpcAttribute",
        "ModifySubnetAttribute",
        "AttachInternetGateway",
        "AuthorizeSecurityGroupIngress",
    ] {
        assert!(
            said.contains(&format!("{op}: EC2 does not see what was just made yet")),
            "{op} waited: {said}"
        );
    }
    let again = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// A fresh account: ECS's service-linked role appears a little after the first cluster,
/// and CreateService is refused until then. `up` waits for it and says so.
#[tokio::test]
async fn a_fresh_accounts_service_linked_role_is_waited_for() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-fresh";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let delays = Delays::set(serde_json::json!({"ecs_slr_window": 3}));
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    drop(delays);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        said.contains("ecs_service.httpd: ECS's service-linked role is not there yet"),
        "{said}"
    );
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}
