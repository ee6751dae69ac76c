//! A real AWS error halfway through `up`, then the same `up` again: it carries on.

use crate::emulator::{self, CALL_LOG, provision, stack_dir, text};
use crate::leftovers::leftovers;
use std::process::Command;

#[tokio::test]
async fn an_up_that_failed_halfway_is_resumed_by_the_next_up() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-resume";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let c = emulator::clients().await;
    // Someone else's cluster with the stack's cluster name: the stack must not adopt it.
    c.ecs
        .create_cluster()
        .cluster_name(stack)
        .send()
        .await
        .unwrap();

    let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("ecs_cluster: CreateCluster failed"), "{said}");
    assert!(
        said.contains("does not belong to stack e2e-resume"),
        "{said}"
    );
    assert!(
        said.contains("not attempted because of the error above: ecs_service.httpd"),
        "{said}"
    );
    assert_eq!(
        said.matches("error:").count(),
        1,
        "only the root cause is an error: {said}"
    );

    let state =
        std::fs::read_to_string(dir.path().join(format!(".provision/{stack}.state.json"))).unwrap();
    for created in [
        "security_group.web",
        "iam_role.task_execution",
        "log_group.httpd",
        "task_definition.httpd",
    ] {
        assert!(
            state.contains(&format!("\"{created}\"")),
            "{created} missing from the state: {state}"
        );
    }
    assert!(!state.contains("\"ecs_service.httpd\""));

    c.ecs.delete_cluster().cluster(stack).send().await.unwrap();
    let out = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 to create, 0 to update, 0 to replace, 0 to delete, 4 unchanged"),
        "{}",
        text(&out)
    );

    let out = provision(dir.path(), &["down", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[test]
fn local_starts_the_emulator_when_nothing_answers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = stack_dir("httpd-fargate.yaml", "e2e-autostart");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_provision"))
            .current_dir(dir.path())
            .args(args)
            .env("PROVISION_LOCAL_PORT", port.to_string())
            .env(
                "PROVISION_EMULATOR_OWNER_PID",
                std::process::id().to_string(),
            )
            .output()
            .unwrap()
    };
    let out = run(&["--local", "plan"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "nothing answers on 127.0.0.1:{port}; starting the local AWS emulator"
        )),
        "{said}"
    );
    assert!(said.contains("6 to create"), "{said}");
    // Now it answers, and is used as it is.
    let out = run(&["--local", "plan"]);
    assert!(
        !text(&out).contains("starting the local AWS emulator"),
        "{}",
        text(&out)
    );
    let stop = Command::new("bash")
        .arg(emulator::root().join("localstack/stop"))
        .env("PROVISION_LOCAL_PORT", port.to_string())
        .status()
        .unwrap();
    assert!(stop.success());
}
