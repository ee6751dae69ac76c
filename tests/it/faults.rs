//! The engine under injected faults: throttling, server errors, dropped connections,
//! latency; and killed with SIGKILL in the middle of `up`. Each run must converge, with
//! nothing twice and nothing left after `down`.

use crate::emulator::{self, CALL_LOG, Faults, provision, stack_dir, text};
use crate::leftovers::{leftovers, tag_filter};
use provision::aws::Clients;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Resources of the stack that exist more than once.
async fn twins(c: &Clients, stack: &str) -> Vec<String> {
    let mut twins = Vec::new();
    let sgs = c
        .ec2
        .describe_security_groups()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = sgs
        .security_groups()
        .iter()
        .flat_map(|g| g.tags())
        .filter(|t| t.key() == Some("provision:id"))
        .filter_map(|t| t.value().map(str::to_string))
        .collect();
    ids.sort();
    for w in ids.windows(2).filter(|w| w[0] == w[1]) {
        twins.push(format!("security group {}", w[0]));
    }
    let tds = c
        .ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-httpd"))
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    if tds.task_definition_arns().len() > 1 {
        twins.push(format!("task definitions {:?}", tds.task_definition_arns()));
    }
    let svcs = c.ecs.list_services().cluster(stack).send().await.unwrap();
    if svcs.service_arns().len() > 1 {
        twins.push(format!("services {:?}", svcs.service_arns()));
    }
    twins
}

#[tokio::test]
async fn up_and_down_converge_under_ten_percent_faults() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    for seed in [7, 22, 33] {
        let stack = format!("e2e-faults-{seed}");
        let dir = stack_dir("httpd-fargate.yaml", &stack);
        let settings = json!({"seed": seed, "rate": 0.1, "latency_ms": 5});
        let faults = Faults::set(settings.clone());
        let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
        let injected = Faults::status()["injected"].as_array().unwrap().len();
        drop(faults);
        assert!(up.status.success(), "seed {seed}: up failed: {}", text(&up));
        assert!(
            injected > 0,
            "seed {seed}: no fault was injected, so this run proves nothing"
        );
        assert_eq!(twins(&c, &stack).await, Vec::<String>::new(), "seed {seed}");

        let faults = Faults::set(settings);
        let down = provision(dir.path(), &["down", "--yes"]);
        drop(faults);
        assert!(
            down.status.success(),
            "seed {seed}: down failed: {}",
            text(&down)
        );
        assert_eq!(
            leftovers(&c, &stack, &stack).await,
            Vec::<String>::new(),
            "seed {seed}"
        );
    }
}

/// Runs `up` and kills it with SIGKILL once AWS has applied its `n`th change and before
/// the tool hears back.
fn kill_after_change(dir: &std::path::Path, n: u32, extra: &[&str]) {
    let faults = Faults::set(json!({"freeze_after_mutations": n}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir)
        .args(["--local", "up", "--yes", "--no-wait"])
        .args(extra)
        .env("PROVISION_LOCAL_PORT", emulator::get().port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while Faults::status()["frozen"] != json!(true) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "change {n} never came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(faults);
}

#[tokio::test]
async fn a_killed_up_is_finished_by_the_next_without_twins() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    // The Fargate stack makes 8 changes: kill after each of them.
    for n in 1..=8 {
        let stack = format!("e2e-kill-{n}");
        let dir = stack_dir("httpd-fargate.yaml", &stack);
        kill_after_change(dir.path(), n, &[]);

        let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
        assert!(
            up.status.success(),
            "after a kill at call {n}: {}",
            text(&up)
        );
        assert_eq!(
            twins(&c, &stack).await,
            Vec::<String>::new(),
            "after a kill at call {n}"
        );
        let again = provision(dir.path(), &["plan", "--detailed-exitcode"]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "after a kill at call {n}: {}",
            text(&again)
        );
        let down = provision(dir.path(), &["down", "--yes"]);
        assert!(down.status.success(), "{}", text(&down));
        assert_eq!(
            leftovers(&c, &stack, &stack).await,
            Vec::<String>::new(),
            "after a kill at call {n}"
        );
    }
}

#[tokio::test]
async fn ctrl_c_lets_calls_in_flight_finish_saves_state_and_the_next_up_carries_on() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let stack = "e2e-ctrlc";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let faults = Faults::set(json!({"freeze_after_mutations": 2}));
    let child = Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .args(["--local", "up", "--yes", "--no-wait"])
        .env("PROVISION_LOCAL_PORT", emulator::get().port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while Faults::status()["frozen"] != json!(true) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the second change never came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ctrl-C while a change is in flight, then let AWS answer it.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    drop(faults);
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("Interrupted: waiting for the"), "{said}");
    assert!(said.contains("steps finished and were saved"), "{said}");
    let state =
        std::fs::read_to_string(dir.path().join(format!(".provision/{stack}.state.json"))).unwrap();
    assert!(
        state.contains("physical_id"),
        "what finished is in the state: {state}"
    );

    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(twins(&c, stack).await, Vec::<String>::new());
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// Killed after the VPC was made and while its follow-up call (DNS hostnames) was in
/// flight: the VPC is already in the state, marked incomplete. `down` deletes it; `up`
/// adopts and finishes it rather than making another.
#[tokio::test]
async fn a_run_killed_between_a_create_and_its_follow_up_loses_nothing() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    for then in ["down", "up"] {
        let stack = format!("e2e-half-{then}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stack.yaml"),
            format!(
                "stack: {stack}\nnetwork:\n  vpc: {{ cidr: 10.9.0.0/16, public_subnets: 1 }}\n"
            ),
        )
        .unwrap();
        // Change 1 is CreateInternetGateway (it needs nothing), 2 CreateVpc, 3 its
        // ModifyVpcAttribute.
        kill_after_change(dir.path(), 3, &["--parallelism", "1"]);

        // The state file and its journal, as the next run reads them.
        let state = provision::state::load(
            &dir.path().join(format!(".provision/{stack}.state.json")),
            &stack,
        )
        .expect("the state was written before the follow-up call");
        let state = serde_json::to_value(&state).unwrap();
        assert_eq!(
            state["resources"]["vpc"]["incomplete"],
            json!(true),
            "{state}"
        );

        if then == "up" {
            let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
            assert!(up.status.success(), "{}", text(&up));
            assert!(text(&up).contains("adopted and finished"), "{}", text(&up));
            let vpcs = c
                .ec2
                .describe_vpcs()
                .filters(tag_filter(&stack))
                .send()
                .await
                .unwrap();
            assert_eq!(vpcs.vpcs().len(), 1, "no twin VPC");
            let dns = c
                .ec2
                .describe_vpc_attribute()
                .vpc_id(vpcs.vpcs()[0].vpc_id().unwrap())
                .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
                .send()
                .await
                .unwrap();
            assert_eq!(
                dns.enable_dns_hostnames().and_then(|a| a.value()),
                Some(true),
                "the follow-up was finished"
            );
        }
        let down = provision(dir.path(), &["down", "--yes"]);
        assert!(down.status.success(), "{}", text(&down));
        assert_eq!(
            leftovers(&c, &stack, &stack).await,
            Vec::<String>::new(),
            "{then}"
        );
    }
}
