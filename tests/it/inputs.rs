//! Bad input through the real binary: a non-zero exit, the location, and no AWS call.

use crate::emulator::{CALL_LOG, clear_requests, provision, requests, text};

#[test]
fn bad_stack_files_exit_non_zero_with_the_location_and_call_nothing() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    crate::emulator::get();
    let cases = [
        ("stack: demo\nservicez: {}\n", "stack.yaml:2:1:"),
        (
            "stack: demo\nservices:\n  web:\n    cpu: 256\n    memory: 100\n    security_groups: [web]\n    containers:\n      web: { image: httpd }\nsecurity_groups:\n  web: {}\n",
            "stack.yaml:5:13:",
        ),
        (
            "stack: demo\nservices:\n  web:\n    cpu: 256\n    memory: 512\n    security_groups: [db]\n    containers:\n      web: { image: httpd }\n",
            "stack.yaml:6:23:",
        ),
    ];
    for (yaml, location) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stack.yaml"), yaml).unwrap();
        for cmd in [
            &["validate"][..],
            &["plan"],
            &["up", "--yes"],
            &["down", "--yes"],
        ] {
            clear_requests();
            let out = provision(dir.path(), cmd);
            assert_eq!(out.status.code(), Some(1), "{cmd:?} on {yaml}");
            let said = text(&out);
            assert!(
                said.contains(location),
                "{cmd:?}: expected {location} in {said}"
            );
            assert!(said.contains("hint:"), "{said}");
            assert!(!said.contains("panicked"), "{said}");
            assert_eq!(
                requests(),
                vec![],
                "{cmd:?} made AWS calls on a bad stack file"
            );
            assert!(
                !dir.path().join(".provision").exists(),
                "a state file was written"
            );
        }
    }
}

#[test]
fn a_missing_stack_file_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = provision(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("cannot read the stack file stack.yaml"),
        "{}",
        text(&out)
    );
}

#[test]
fn missing_credentials_are_named_with_the_ways_to_give_them() {
    let dir = crate::emulator::stack_dir("httpd-fargate.yaml", "e2e-nocreds");
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "plan",
        ])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("no AWS credentials were found"), "{said}");
    assert!(
        said.contains("OIDC") && said.contains("--profile"),
        "{said}"
    );
    assert!(
        !said.contains("could not reach"),
        "not a network problem: {said}"
    );
}
