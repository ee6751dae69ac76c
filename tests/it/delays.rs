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
