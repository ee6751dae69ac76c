//! Waiting for services, on the emulator's simulated tasks (localstack/tasks.py): `up`
//! waits until the tasks run, and fails with the task's own reason when they cannot.

use crate::emulator::{self, CALL_LOG, provision, stack_dir, text};
use crate::leftovers::leftovers;

#[tokio::test]
async fn up_waits_until_the_service_is_stable_and_down_until_its_tasks_let_go() {
    // Alone: it slows the emulator's task stops for everyone.
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    emulator::control("/_provision/tasks", serde_json::json!({"stop_delay": 3}));
    let stack = "e2e-wait";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        said.contains("ecs_service.httpd: 0/1 tasks running, deployment IN_PROGRESS"),
        "progress is shown: {said}"
    );
    assert!(
        said.contains("ecs_service.httpd: 1/1 tasks running, deployment COMPLETED"),
        "{said}"
    );

    // The running task has an address in the default VPC.
    let outputs = text(&provision(dir.path(), &["outputs"]));
    assert!(
        outputs.contains("ecs_service.httpd.running_tasks = 1"),
        "{outputs}"
    );
    assert!(
        outputs.contains("ecs_service.httpd.private_ips = 172.31."),
        "{outputs}"
    );

    // The task's interface holds the group until the task has stopped: down waits it out.
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    emulator::control("/_provision/tasks", serde_json::json!({"stop_delay": 1}));
    let said = text(&down);
    assert!(down.status.success(), "{said}");
    assert!(
        said.contains("security_group.web: DeleteSecurityGroup refused"),
        "{said}"
    );
    assert!(
        said.contains("in use by network interface eni-"),
        "the blocking interface is named: {said}"
    );
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_with_the_tasks_reason() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-badimage";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("image: httpd ", "image: httpd-does-not-exist ");
    std::fs::write(&file, yaml).unwrap();
    // A timeout far beyond the test's patience: only failing fast can pass.
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "1h"]);
    let said = text(&up);
    // 3: the deployment failed (CI tells it from other errors).
    assert_eq!(up.status.code(), Some(3), "{said}");
    assert!(
        said.contains("ecs_service.httpd: deployment failed"),
        "{said}"
    );
    assert!(
        said.contains("CannotPullContainerError"),
        "the task's stopped reason is shown: {said}"
    );
    assert!(
        !said.contains("not stable after"),
        "it failed fast, not at the timeout: {said}"
    );
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[tokio::test]
async fn ec2_tasks_run_only_where_container_instances_have_room() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    // The instances join the cluster through their user data, and the task fits on them.
    let stack = "e2e-wpwait";
    let dir = emulator::stack_dir_named("wordpress-ec2.yaml", "wordpress", stack);
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        said.contains("ecs_service.wordpress: 1/1 tasks running, deployment COMPLETED"),
        "{said}"
    );
    let registered = c
        .ecs
        .list_container_instances()
        .cluster(stack)
        .send()
        .await
        .unwrap();
    assert_eq!(
        registered.container_instance_arns().len(),
        1,
        "the instance joined the cluster"
    );
    let outputs = text(&provision(dir.path(), &["outputs"]));
    assert!(
        outputs.contains("ecs_service.wordpress.private_ips = 10.0."),
        "the task is reached at its instance: {outputs}"
    );
    // Down terminates the instances, which leave the cluster before it is deleted.
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());

    // A task bigger than any instance is never placed: up waits until its timeout.
    let stack = "e2e-wpbig";
    let dir = emulator::stack_dir_named("wordpress-ec2.yaml", "wordpress", stack);
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("memory: 512 ", "memory: 900000 ");
    std::fs::write(&file, yaml).unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "6s"]);
    let said = text(&up);
    assert_eq!(up.status.code(), Some(3), "not stable in time: {said}");
    assert!(
        said.contains("not stable after 6s: 0/1 tasks running"),
        "{said}"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// A deploy that the circuit breaker rolls back leaves the service stable on the previous
/// task definition: `up` still fails, with exit code 3, and says what happened.
#[tokio::test]
async fn a_rolled_back_deployment_fails_with_exit_code_3() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let stack = "e2e-rollback";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let file = dir.path().join("stack.yaml");
    let good = std::fs::read_to_string(&file).unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    assert!(up.status.success(), "{}", text(&up));

    let bad = good.replace("image: httpd ", "image: httpd-does-not-exist ");
    std::fs::write(&file, &bad).unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "1h"]);
    let said = text(&up);
    assert_eq!(up.status.code(), Some(3), "{said}");
    assert!(
        said.contains(&format!("rolled back to {stack}-httpd:1")),
        "the task definition it went back to is named: {said}"
    );
    assert!(said.contains("CannotPullContainerError"), "{said}");
    let svc = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap();
    let td = svc.services()[0].task_definition().unwrap_or_default();
    assert!(
        td.ends_with(&format!("{stack}-httpd:1")),
        "back on revision 1: {td}"
    );

    // Fixed within the hour: the failed deployment's stopped tasks are not this one's.
    std::fs::write(&file, &good).unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    assert!(up.status.success(), "{}", text(&up));
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[test]
fn waits_look_again_fast_at_first_then_back_off() {
    use provision::resources::wait::Budget;
    use std::time::Duration;
    let b = Budget::long(Duration::from_secs(600));
    let d: Vec<Duration> = b.delays().take(12).collect();
    assert_eq!(d[0], Duration::from_millis(250));
    // Within the first second, three more looks; after that, seconds apart, never over 15 s.
    let first_second: Duration = d.iter().take(3).sum();
    assert!(first_second < Duration::from_millis(1300), "{d:?}");
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    assert_eq!(*d.last().unwrap(), Duration::from_secs(15), "{d:?}");
    let r = Budget::release(Duration::from_secs(60));
    assert_eq!(r.delays().next(), Some(Duration::from_millis(250)));
    assert_eq!(r.delays().nth(20), Some(Duration::from_secs(10)));
}

/// Twelve services waited for at once (their deployments, then their drains) are polled
/// together, up to ten a DescribeServices call, not one call each.
#[tokio::test]
async fn services_waited_for_together_share_their_polls() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    emulator::control("/_provision/tasks", serde_json::json!({"stop_delay": 2}));
    let stack = "e2e-polls";
    let dir = emulator::services_dir(stack, 12, 1);
    emulator::clear_requests();
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    assert!(up.status.success(), "{}", text(&up));
    let up_polls = emulator::batches("DescribeServices");
    emulator::clear_requests();
    let down = provision(dir.path(), &["down", "--yes"]);
    let down_polls = emulator::batches("DescribeServices");
    emulator::control("/_provision/tasks", serde_json::json!({"stop_delay": 1}));
    assert!(down.status.success(), "{}", text(&down));
    // Alone, each service would be one call a poll: here calls name several on average,
    // never more than DescribeServices takes.
    for (what, polls) in [("up", &up_polls), ("down", &down_polls)] {
        let named: u64 = polls.iter().sum();
        assert!(
            named >= 2 * polls.len() as u64,
            "{what}: {} calls for {named} service polls: {polls:?}",
            polls.len()
        );
        assert!(polls.iter().all(|n| (1..=10).contains(n)), "{polls:?}");
    }
    let c = emulator::clients().await;
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}
