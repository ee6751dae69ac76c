//! `--set PATH=VALUE` and `${env:NAME}`: what a pipeline changes without editing the file.

use crate::emulator::{self, text};
use provision::desired::Kind;
use provision::stack::{self, StackError, overrides::Set};
use serde_json::Value as Json;
use std::path::Path;

fn template() -> String {
    std::fs::read_to_string(emulator::root().join("templates/httpd-fargate.yaml")).unwrap()
}

fn sets(args: &[&str]) -> Vec<Set> {
    args.iter().map(|a| a.parse().unwrap()).collect()
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// Every desired resource's properties (references unresolved, as text), by id.
fn props(s: &stack::Stack) -> Vec<(String, String)> {
    s.resources
        .iter()
        .map(|r| (r.id.clone(), format!("{:?}", r.props)))
        .collect()
}

fn image(s: &stack::Stack) -> Json {
    let td = s
        .resources
        .iter()
        .find(|r| r.kind == Kind::TaskDefinition)
        .unwrap();
    let resolved = td.resolve_all(&|_| Some(Json::String("x".into()))).unwrap();
    resolved["containers"][0]["image"].clone()
}

fn problems(e: StackError) -> Vec<String> {
    match e {
        StackError::Invalid { problems, .. } => problems
            .into_iter()
            .map(|p| format!("{}:{}: {}", p.line, p.col, p.message))
            .collect(),
        other => panic!("{other}"),
    }
}

#[test]
fn set_changes_the_image_and_nothing_else() {
    let path = Path::new("stack.yaml");
    let before = stack::parse_with(path, &template(), &[], &no_env).unwrap();
    let after = stack::parse_with(
        path,
        &template(),
        &sets(&["services.httpd.containers.httpd.image=httpd:2.4.62"]),
        &no_env,
    )
    .unwrap();
    assert_eq!(image(&before), "httpd");
    assert_eq!(image(&after), "httpd:2.4.62");
    let changed: Vec<String> = props(&before)
        .into_iter()
        .zip(props(&after))
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0)
        .collect();
    assert_eq!(changed, ["task_definition.httpd"]);
}

#[test]
fn set_adds_a_field_the_file_leaves_out_and_types_numbers() {
    let s = stack::parse_with(
        Path::new("stack.yaml"),
        &template(),
        &sets(&[
            "services.httpd.platform_version=1.4.0",
            "services.httpd.desired_count=3",
        ]),
        &no_env,
    )
    .unwrap();
    let svc = s
        .resources
        .iter()
        .find(|r| r.kind == Kind::EcsService)
        .unwrap();
    let p = svc.resolve_all(&|_| Some(Json::Null)).unwrap();
    assert_eq!(p["platform_version"], "1.4.0");
    assert_eq!(p["desired_count"], 3);
}

#[test]
fn a_bad_path_or_value_names_the_set_argument() {
    let path = Path::new("stack.yaml");
    for (arg, says) in [
        ("services.nope.desired_count=2", "`services` has no `nope`"),
        (
            "services.httpd.containers.httpd.ports.7=81",
            "there is no item 7",
        ),
        ("services.httpd.containers=x", "single values only"),
        (
            "services.httpd.desired_count=many",
            "--set services.httpd.desired_count=many",
        ),
        ("services.httpd.cpu=300", "--set services.httpd.cpu=300"),
    ] {
        let e = stack::parse_with(path, &template(), &sets(&[arg]), &no_env).unwrap_err();
        let all = problems(e).join("\n");
        assert!(all.contains(says), "{arg}: {all}");
        assert!(
            all.contains(&format!("--set {arg}")),
            "{arg} is named: {all}"
        );
    }
    assert!("no-equals-sign".parse::<Set>().is_err());
}

#[test]
fn env_values_resolve_and_an_unset_one_is_an_error_at_its_place() {
    let path = Path::new("stack.yaml");
    let yaml = template().replace("image: httpd ", "image: ${env:IMAGE} ");
    let env = |n: &str| (n == "IMAGE").then(|| "httpd:2.4.63".to_string());
    assert_eq!(
        image(&stack::parse_with(path, &yaml, &[], &env).unwrap()),
        "httpd:2.4.63"
    );

    let with_default = template().replace("image: httpd ", "image: ${env:NOPE:-httpd:alpine} ");
    let s = stack::parse_with(path, &with_default, &[], &no_env).unwrap();
    assert_eq!(image(&s), "httpd:alpine");

    let line = yaml
        .lines()
        .position(|l| l.contains("${env:IMAGE}"))
        .unwrap()
        + 1;
    let col = yaml.lines().nth(line - 1).unwrap().find("${env").unwrap() + 1;
    let all = problems(stack::parse_with(path, &yaml, &[], &no_env).unwrap_err()).join("\n");
    assert!(
        all.contains(&format!(
            "{line}:{col}: the environment variable IMAGE is not set"
        )),
        "{all}"
    );
    // --set wins over the file, ${env:…} included.
    let s = stack::parse_with(
        path,
        &yaml,
        &sets(&["services.httpd.containers.httpd.image=nginx"]),
        &no_env,
    )
    .unwrap();
    assert_eq!(image(&s), "nginx");
}

#[test]
fn a_bad_set_is_refused_before_any_aws_call() {
    let dir = emulator::stack_dir("httpd-fargate.yaml", "e2e-set");
    // Nothing answers on this endpoint: only a refusal before any call can pass.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .current_dir(dir.path())
        .args([
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--region",
            "us-east-1",
        ])
        .args(["--set", "services.httpd.desired_count=lots", "plan"])
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("--set services.httpd.desired_count=lots"),
        "{said}"
    );
    assert!(!said.contains("could not reach"), "{said}");
}
