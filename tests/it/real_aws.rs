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
    let outputs = crate::emulator::json_outputs(&outputs);
    let ips = outputs["ecs_service.httpd"]["public_ips"]
        .as_array()
        .unwrap();
    assert_eq!(ips.len(), 1, "the task has a public IP: {outputs}");
    assert!(down.status.success(), "down failed: {}", text(&down));
    assert_eq!(leftovers(&c, &stack, &stack).await, Vec::<String>::new());
}

/// An HTTP GET, answering the status line.
fn http_status(ip: &str) -> Option<String> {
    use std::io::{Read, Write};
    let addr = format!("{ip}:80").parse().ok()?;
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(10)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_string)
}

#[tokio::test]
#[ignore = "creates real AWS resources for ~20 minutes (EC2, RDS): cargo test -- --ignored real_aws"]
async fn real_aws_wordpress_on_ec2_answers_and_goes_down_clean() {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stack = format!("pv-wp-{}", stamp % 1_000_000);
    let dir = crate::emulator::stack_dir_named("wordpress-ec2.yaml", "wordpress", &stack);
    // No final snapshot: a test leaves nothing behind.
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("final_snapshot: true", "final_snapshot: false");
    std::fs::write(&file, yaml).unwrap();
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let c = provision::aws::Clients::new(&conf);

    let up = provision_real(dir.path(), &["up", "--yes", "--timeout", "30m"]);
    let outputs = provision_real(dir.path(), &["outputs", "--json"]);
    let ip = Some(crate::emulator::json_outputs(&outputs)).and_then(|o| {
        o["ecs_service.wordpress"]["public_ips"][0]
            .as_str()
            .map(str::to_string)
    });
    // WordPress answers (its installer redirects) once it reached the database.
    let status = ip.as_deref().and_then(http_status);
    let down = provision_real(dir.path(), &["down", "--yes"]);
    assert!(up.status.success(), "up failed: {}", text(&up));
    assert!(
        status
            .as_deref()
            .is_some_and(|s| s.contains(" 200") || s.contains(" 302")),
        "WordPress at {ip:?} answered {status:?}"
    );
    assert!(down.status.success(), "down failed: {}", text(&down));
    assert_eq!(leftovers(&c, &stack, &stack).await, Vec::<String>::new());
}

/// A first run in a fresh account (a new member account of AWS Organizations, say): ECS's
/// service-linked role does not exist yet, and every role, instance profile, capacity
/// provider and secret policy is minutes old when the next call needs it. Set
/// PROVISION_FRESH_ACCOUNT=1 to assert the account really is fresh (no ECS service-linked
/// role) before it starts.
#[tokio::test]
#[ignore = "creates real AWS resources for ~25 minutes (EC2, RDS) in a fresh account: cargo test -- --ignored real_aws"]
async fn real_aws_first_run_in_a_fresh_account() {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stack = format!("pv-first-{}", stamp % 1_000_000);
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let c = provision::aws::Clients::new(&conf);
    let slr = c
        .iam
        .get_role()
        .role_name("AWSServiceRoleForECS")
        .send()
        .await;
    if std::env::var("PROVISION_FRESH_ACCOUNT").as_deref() == Ok("1") {
        assert!(
            slr.is_err(),
            "the account already has ECS's service-linked role: it is not fresh"
        );
    }
    let dir = crate::emulator::stack_dir_named("wordpress-ec2.yaml", "wordpress", &stack);
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("final_snapshot: true", "final_snapshot: false");
    std::fs::write(&file, yaml).unwrap();
    let up = provision_real(dir.path(), &["up", "--yes", "--timeout", "30m"]);
    let again = provision_real(dir.path(), &["plan", "--detailed-exitcode"]);
    let down = provision_real(dir.path(), &["down", "--yes"]);
    assert!(up.status.success(), "up failed: {}", text(&up));
    assert_eq!(
        again.status.code(),
        Some(0),
        "nothing left to do: {}",
        text(&again)
    );
    assert!(down.status.success(), "down failed: {}", text(&down));
    assert_eq!(leftovers(&c, &stack, &stack).await, Vec::<String>::new());
}
