//! examples/github-actions/deploy.yml, run as CI would: its provision commands, in order,
//! against the emulator, with the state in S3 and the image set with --set.

use crate::emulator::{self, CALL_LOG, stack_dir, text};
use crate::leftovers::leftovers;

fn setting<'a>(workflow: &'a str, key: &str) -> &'a str {
    workflow
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("the workflow sets no {key}"))
        .trim()
}

#[tokio::test]
async fn the_example_workflow_plans_deploys_and_reports() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let workflow =
        std::fs::read_to_string(emulator::root().join("examples/github-actions/deploy.yml"))
            .unwrap();
    // In the workflow's region, as the pipeline would be.
    let region = setting(&workflow, "AWS_REGION").to_string();
    let conf = provision::aws::load(&provision::aws::Settings {
        local: true,
        region: Some(region.clone()),
        endpoint_url: Some(emulator::get().url.clone()),
        ..Default::default()
    })
    .await;
    let c = provision::aws::Clients::new(&conf);
    let state = setting(&workflow, "PROVISION_STATE");
    let bucket = state.trim_start_matches("s3://").split('/').next().unwrap();
    c.s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    region.as_str(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let stack = "hello-httpd";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let summary = dir.path().join("summary.md");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_provision"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let image = "httpd:2.4.62";
    let commands: Vec<&str> = workflow
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("provision ") || l.starts_with("run: provision "))
        .map(|l| l.trim_start_matches("run: "))
        .collect();
    assert_eq!(commands.len(), 3, "plan, up, outputs: {commands:?}");
    for cmd in &commands {
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("set -e; status=0; {cmd}")])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("IMAGE", image)
            .env("PROVISION_STATE", state)
            .env("AWS_REGION", setting(&workflow, "AWS_REGION"))
            .env("AWS_ENDPOINT_URL", &emulator::get().url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {}", text(&out));
    }
    let plan = std::fs::read_to_string(dir.path().join("plan.md")).unwrap();
    assert!(
        plan.contains("plan for stack `hello-httpd`") && plan.contains("6 to create"),
        "{plan}"
    );
    let outputs = std::fs::read_to_string(dir.path().join("outputs.jsonl")).unwrap();
    assert!(outputs.contains("\"ecs_service.httpd\""), "{outputs}");
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(format!("{stack}-httpd"))
        .send()
        .await
        .unwrap();
    let containers = td.task_definition().unwrap().container_definitions();
    assert_eq!(
        containers[0].image(),
        Some(image),
        "the image came from --set"
    );
    assert!(
        !dir.path().join(".provision").exists(),
        "nothing local: the state is in S3"
    );

    let down = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .args([
            "--local", "--region", &region, "--state", state, "down", "--yes",
        ])
        .env("PROVISION_LOCAL_PORT", emulator::get().port.to_string())
        .output()
        .unwrap();
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}
