//! The state in S3, for CI: conditional writes and a lock object beside it.

use crate::emulator::{self, CALL_LOG, provision, stack_dir, text};
use crate::leftovers::leftovers;
use provision::resources::s3_object::S3Object;
use provision::state::remote::Remote;
use provision::state::{Sink, State, StateWriter};
use std::process::Command;
use std::sync::Arc;

async fn object(c: &provision::aws::Clients, bucket: &str, key: &str) -> Option<serde_json::Value> {
    let got =
        c.s3.get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
    let body = got.body.collect().await.ok()?.into_bytes();
    serde_json::from_slice(&body).ok()
}

#[tokio::test]
async fn a_stack_goes_up_and_down_with_its_state_in_s3() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let (bucket, stack) = ("provision-state-e2e", "e2e-s3");
    c.s3.create_bucket().bucket(bucket).send().await.unwrap();
    let key = format!("{stack}/state.json");
    let url = format!("s3://{bucket}/{key}");
    let dir = stack_dir("httpd-fargate.yaml", stack);

    let up = provision(dir.path(), &["--state", &url, "up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(
        !dir.path().join(".provision").exists(),
        "no local state or lock"
    );
    let state = object(&c, bucket, &key).await.expect("the state is in S3");
    assert_eq!(state["resources"].as_object().unwrap().len(), 6, "{state}");
    assert!(
        object(&c, bucket, &format!("{key}.lock")).await.is_none(),
        "the lock is released"
    );

    // PROVISION_STATE says the same; `state:` in the file too.
    let plan = Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .args(["--local", "--no-color", "plan"])
        .env("PROVISION_LOCAL_PORT", emulator::get().port.to_string())
        .env("PROVISION_STATE", &url)
        .output()
        .unwrap();
    assert!(text(&plan).contains("No changes"), "{}", text(&plan));
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{yaml}\nstate: {url}\n")).unwrap();
    let plan = provision(dir.path(), &["plan"]);
    assert!(text(&plan).contains("No changes"), "{}", text(&plan));

    // A lock whose run died long ago: reported as stale, removed by its id.
    let holder = serde_json::json!({
        "id": "deadbeef0001", "who": "ci@runner-7", "operation": "up",
        "started": 1_000, "renewed": 1_000,
    });
    c.s3.put_object()
        .bucket(bucket)
        .key(format!("{key}.lock"))
        .body(holder.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let blocked = provision(dir.path(), &["plan"]);
    let said = text(&blocked);
    assert_eq!(blocked.status.code(), Some(4), "{said}");
    assert!(
        said.contains("ci@runner-7") && said.contains("looks stale"),
        "{said}"
    );
    let unlock = provision(dir.path(), &["force-unlock", "deadbeef0001"]);
    assert!(unlock.status.success(), "{}", text(&unlock));

    // The state object lost: found by the stack's tags, nothing to create, all deleted.
    c.s3.delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let plan = provision(dir.path(), &["plan"]);
    let said = text(&plan);
    assert!(
        said.contains("found 6 resources") && said.contains("No changes"),
        "{said}"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        text(&down).contains("6 resources deleted"),
        "{}",
        text(&down)
    );
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
    let state = object(&c, bucket, &key).await.unwrap();
    assert_eq!(state["resources"].as_object().unwrap().len(), 0);
}

#[tokio::test]
async fn a_write_from_a_stale_read_never_overwrites_a_newer_state() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let bucket = "provision-state-cas";
    c.s3.create_bucket().bucket(bucket).send().await.unwrap();
    let obj: Arc<dyn Remote> =
        Arc::new(S3Object::parse(&c, &format!("s3://{bucket}/demo.json")).unwrap());
    let state = State {
        stack: "demo".into(),
        ..Default::default()
    };
    // The first write creates the object; a second "first" write finds it there.
    let first = StateWriter::to(
        Sink::Remote {
            object: obj.clone(),
            etag: None,
        },
        state.clone(),
    );
    first.write_all().await.unwrap();
    let twin = StateWriter::to(
        Sink::Remote {
            object: obj.clone(),
            etag: None,
        },
        state.clone(),
    );
    let err = twin.write_all().await.unwrap_err();
    assert!(err.to_string().contains("changed by another run"), "{err}");
    // A writer that read an older version is refused too.
    let (_, etag) = provision::state::load_remote(obj.as_ref(), "demo")
        .await
        .unwrap();
    // A change (the ETag follows the content).
    let entry = provision::state::Entry {
        kind: provision::desired::Kind::LogGroup,
        physical_id: "/ecs/demo".into(),
        props: serde_json::json!({}),
        outputs: Default::default(),
        deps: vec![],
        revisions: vec![],
        incomplete: false,
    };
    first.put("log_group.demo", entry).await.unwrap();
    let stale = StateWriter::to(
        Sink::Remote {
            object: obj.clone(),
            etag,
        },
        state,
    );
    assert!(stale.write_all().await.is_err());
}

/// A run killed with `kill -9` while it holds the S3 lock: the next run is told who holds
/// it and how to remove it; after `force-unlock`, `up` converges with no twins.
#[tokio::test]
async fn a_killed_run_leaves_a_lock_that_force_unlock_removes() {
    // Alone: the added latency slows every request.
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let (bucket, stack) = ("provision-state-kill", "e2e-s3kill");
    c.s3.create_bucket().bucket(bucket).send().await.unwrap();
    let key = format!("{stack}.json");
    let url = format!("s3://{bucket}/{key}");
    let dir = stack_dir("httpd-fargate.yaml", stack);

    let faults = crate::emulator::Faults::set(serde_json::json!({"latency_ms": 150}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .args(["--local", "--state", &url, "up", "--yes", "--no-wait"])
        .env("PROVISION_LOCAL_PORT", emulator::get().port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    // Killed once something is recorded: the state and the lock are both in S3.
    loop {
        let recorded = object(&c, bucket, &key)
            .await
            .is_some_and(|s| !s["resources"].as_object().unwrap().is_empty());
        if recorded {
            break;
        }
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(30),
            "nothing recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(faults);
    // Its last write may still be held by the latency: once it lands, the state is what the
    // next runs read. (One that lands after a run read the state makes that run stop, the
    // state not overwritten, as a test run saw: safe, but not what this test is about.)
    emulator::wait_for_answers();

    let blocked = provision(dir.path(), &["--state", &url, "up", "--yes", "--no-wait"]);
    let said = text(&blocked);
    assert_eq!(blocked.status.code(), Some(4), "{said}");
    let id = said
        .split("lock id ")
        .nth(1)
        .and_then(|rest| rest.get(..12))
        .expect("the lock's id is named")
        .to_string();
    let unlock = provision(dir.path(), &["--state", &url, "force-unlock", &id]);
    assert!(unlock.status.success(), "{}", text(&unlock));

    let up = provision(dir.path(), &["--state", &url, "up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(crate::leftovers::tag_filter(stack))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1, "no twin group");
    let down = provision(dir.path(), &["--state", &url, "down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}
