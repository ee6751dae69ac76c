//! The opt-in suite for real AWS. It creates real resources (one Fargate task of 0.25 vCPU
//! for a few minutes) in the account and region of your usual credentials, then removes them:
//!
//!   AWS_PROFILE=sandbox AWS_REGION=eu-west-1 cargo test -- --ignored real_aws
//!
//! It waits for the service to become stable, which the emulator cannot show.

use crate::emulator::{stack_dir, text};
use crate::leftovers::leftovers;
use std::process::Command;

fn provision_real(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    eprintln!("$ provision {}\n{}", args.join(" "), text(&out));
    out
}

#[tokio::test]
#[ignore = "creates real AWS resources: cargo test -- --ignored real_aws"]
async fn real_aws_fargate_template_goes_up_stable_and_down_clean() {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stack = format!("pv-real-{}", stamp % 1_000_000);
    let dir = stack_dir("httpd-fargate.yaml", &stack);
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let c = provision::aws::Clients::new(&conf);

    let up = provision_real(dir.path(), &["up", "--yes", "--timeout", "10m"]);
    let svcs = c
        .ecs
        .describe_services()
        .cluster(&stack)
        .services("httpd")
        .send()
        .await;
    let outputs = provision_real(dir.path(), &["outputs", "--json"]);
    // Down before any assertion, so that a failure leaves nothing running.
    let down = provision_real(dir.path(), &["down", "--yes"]);
    assert!(up.status.success(), "up failed: {}", text(&up));
    let svcs = svcs.unwrap();
    assert_eq!(svcs.services()[0].running_count(), 1, "the task runs");
    let outputs: serde_json::Value = serde_json::from_slice(&outputs.stdout).unwrap();
    let ips = outputs["ecs_service.httpd"]["public_ips"]
        .as_array()
        .unwrap();
    assert_eq!(ips.len(), 1, "the task has a public IP: {outputs}");
    assert!(down.status.success(), "down failed: {}", text(&down));
    assert_eq!(leftovers(&c, &stack, &stack).await, Vec::<String>::new());
}
