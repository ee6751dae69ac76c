//! One run at a time per state: a second run exits 4 at once, naming the first.

use crate::emulator::{self, CALL_LOG, Faults, provision, stack_dir, text};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_second_run_exits_4_naming_the_first_and_nothing_is_made_twice() {
    // Alone: the added latency slows every request.
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let stack = "e2e-lock";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let lock_file = dir
        .path()
        .join(format!(".provision/{stack}.state.json.lock"));

    let faults = Faults::set(serde_json::json!({"latency_ms": 150}));
    let first = Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .args(["--local", "--no-color", "up", "--yes", "--no-wait"])
        .env("PROVISION_LOCAL_PORT", emulator::get().port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while std::fs::read_to_string(&lock_file).map_or(true, |t| t.is_empty()) {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the first run never locked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let started = Instant::now();
    let second = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    let took = started.elapsed();
    let said = text(&second);
    assert_eq!(second.status.code(), Some(4), "{said}");
    assert!(
        took < Duration::from_secs(1),
        "at once, not after waiting: {took:?}"
    );
    assert!(
        said.contains("running `up` for"),
        "the holder's operation: {said}"
    );
    assert!(
        said.contains("provision force-unlock "),
        "how to remove it: {said}"
    );

    let first = first.wait_with_output().unwrap();
    drop(faults);
    assert!(first.status.success(), "{}", text(&first));
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(crate::leftovers::tag_filter(stack))
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.security_groups().len(),
        1,
        "exactly one group, no twin"
    );

    // Released: the next run goes ahead.
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
}

#[tokio::test]
async fn force_unlock_removes_a_lock_by_its_id() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let dir = stack_dir("httpd-fargate.yaml", "e2e-unlock");
    let state = dir.path().join(".provision/e2e-unlock.state.json");
    // A run that holds the lock and will not finish.
    let held = provision::state::lock::acquire(&state, "down").unwrap();
    let id = held.holder.id.clone();

    let out = provision(dir.path(), &["plan"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("lock id {id}")),
        "{}",
        text(&out)
    );

    let wrong = provision(dir.path(), &["force-unlock", "not-the-id"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    let unlock = provision(dir.path(), &["force-unlock", &id]);
    assert!(unlock.status.success(), "{}", text(&unlock));
    let out = provision(dir.path(), &["plan"]);
    assert!(out.status.success(), "{}", text(&out));
    drop(held);
}
