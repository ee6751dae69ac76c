//! Plan and executor against the in-memory fake: order, concurrency, failures, resume.

use crate::fake::Fake;
use provision::exec::{self, ExecError, Options};
use provision::plan::{self, Action};
use provision::stack::{self, Stack};
use provision::state::{self, State, StateWriter};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const OWN_VPC: &str = "\
stack: demo
network:
  vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }
security_groups:
  web:
    ingress:
      - { port: 80, cidr: 0.0.0.0/0 }
  app:
    ingress:
      - { port: 8080, from: web }
services:
  api:
    cpu: 256
    memory: 512
    security_groups: [web, app]
    containers:
      api: { image: httpd, ports: [8080] }
";

fn load(yaml: &str) -> Stack {
    stack::parse(Path::new("stack.yaml"), yaml).unwrap()
}

fn opts(parallelism: usize) -> Options {
    Options {
        parallelism,
        wait: false,
        timeout: Duration::from_secs(5),
        tags: vec![],
        events: provision::events::Emitter::silent(),
    }
}

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        Run {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("demo.state.json")
    }
    fn state(&self) -> State {
        state::load(&self.path(), "demo").unwrap()
    }
    async fn up(
        &self,
        s: &Stack,
        fake: &Arc<Fake>,
        parallelism: usize,
    ) -> Result<plan::Plan, ExecError> {
        let plan = plan::plan_up(s, &self.state(), fake.clone(), 4, false)
            .await
            .unwrap();
        let writer = Arc::new(StateWriter::new(self.path(), self.state()));
        exec::execute(&plan, fake.clone(), writer, &opts(parallelism)).await?;
        Ok(plan)
    }
}

#[tokio::test]
async fn creation_follows_references_and_a_second_plan_is_empty() {
    let s = load(OWN_VPC);
    let fake = Arc::new(Fake::default());
    let run = Run::new();
    let plan = run.up(&s, &fake, 10).await.unwrap();
    assert_eq!(plan.count(Action::Create), 14);
    for r in s.resources.iter().filter(|r| !r.kind.is_lookup()) {
        for d in r.deps().iter().filter(|d| !d.starts_with("lookup.")) {
            assert!(
                fake.pos(&format!("create {d}")) < fake.pos(&format!("create {}", r.id)),
                "{d} must be created before {}",
                r.id
            );
        }
    }
    let again = plan::plan_up(&s, &run.state(), fake.clone(), 4, false)
        .await
        .unwrap();
    assert!(!again.has_changes(), "{:?}", again.steps);
}

#[tokio::test]
async fn an_image_change_updates_the_task_and_the_service_only() {
    let fake = Arc::new(Fake::default());
    let run = Run::new();
    run.up(&load(OWN_VPC), &fake, 10).await.unwrap();
    let changed = load(&OWN_VPC.replace("image: httpd", "image: nginx"));
    let plan = plan::plan_up(&changed, &run.state(), fake.clone(), 4, false)
        .await
        .unwrap();
    let changes: Vec<(&str, Action)> = plan
        .steps
        .iter()
        .filter(|s| s.action.is_change())
        .map(|s| (s.id.as_str(), s.action))
        .collect();
    assert_eq!(
        changes,
        [
            ("task_definition.api", Action::Update),
            ("ecs_service.api", Action::Update)
        ]
    );
}

#[tokio::test]
async fn fields_aws_cannot_change_replace_the_resource() {
    let fake = Arc::new(Fake::default());
    let run = Run::new();
    run.up(&load(OWN_VPC), &fake, 10).await.unwrap();
    let changed = load(&OWN_VPC.replace(
        "  web:\n    ingress:",
        "  web:\n    description: the front door\n    ingress:",
    ));
    let plan = plan::plan_up(&changed, &run.state(), fake.clone(), 4, false)
        .await
        .unwrap();
    let web = plan
        .steps
        .iter()
        .find(|s| s.id == "security_group.web")
        .unwrap();
    assert_eq!(web.action, Action::Replace);
    // A rule change is an update in place.
    let changed = load(&OWN_VPC.replace("port: 80, cidr: 0.0.0.0/0", "port: 443, cidr: 0.0.0.0/0"));
    let plan = plan::plan_up(&changed, &run.state(), fake.clone(), 4, false)
        .await
        .unwrap();
    let web = plan
        .steps
        .iter()
        .find(|s| s.id == "security_group.web")
        .unwrap();
    assert_eq!(web.action, Action::Update);
    assert_eq!(web.changes[0].path, "ingress[0].port");
}

#[tokio::test]
async fn a_failure_skips_its_dependents_reports_the_cause_and_resumes() {
    let s = load(OWN_VPC);
    let fake = Arc::new(Fake::default());
    *fake.fail.lock().unwrap() = Some("security_group.web".into());
    let run = Run::new();
    let err = run.up(&s, &fake, 10).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("security_group.web: Create failed: InvalidParameterValue: the fake refuses"),
        "{msg}"
    );
    // One failure: it is the message itself (the caller prefixes `error: `), and the
    // skipped dependents are not reported as errors of their own.
    assert_eq!(msg.matches("error:").count(), 0, "{msg}");
    assert!(
        msg.starts_with("security_group.web: Create failed"),
        "{msg}"
    );
    assert!(
        msg.contains("security_group.app") && msg.contains("ecs_service.api"),
        "dependents named as skipped: {msg}"
    );
    assert!(!fake.calls().iter().any(|c| c == "create ecs_service.api"));
    // What succeeded is in the state; the next run creates only what is missing.
    let saved = run.state();
    assert!(
        saved.resources.contains_key("vpc") && !saved.resources.contains_key("security_group.web")
    );
    *fake.fail.lock().unwrap() = None;
    fake.calls.lock().unwrap().clear();
    run.up(&s, &fake, 10).await.unwrap();
    let mut created: Vec<String> = fake.calls();
    created.sort();
    assert_eq!(
        created,
        [
            "create ecs_service.api",
            "create security_group.app",
            "create security_group.web"
        ]
    );
}

#[tokio::test]
async fn down_deletes_dependents_first_and_empties_the_state() {
    let fake = Arc::new(Fake::default());
    let run = Run::new();
    run.up(&load(OWN_VPC), &fake, 10).await.unwrap();
    let before = run.state();
    fake.calls.lock().unwrap().clear();
    let plan = plan::plan_down("demo", &before).unwrap();
    let writer = Arc::new(StateWriter::new(run.path(), before.clone()));
    exec::execute(&plan, fake.clone(), writer, &opts(10))
        .await
        .unwrap();
    for (id, e) in &before.resources {
        for d in &e.deps {
            if before.resources.contains_key(d) {
                assert!(
                    fake.pos(&format!("delete {id}")) < fake.pos(&format!("delete {d}")),
                    "{id} must go before {d}"
                );
            }
        }
    }
    assert!(run.state().resources.is_empty());
    assert!(fake.objects.lock().unwrap().is_empty());
}

#[tokio::test]
async fn removing_a_resource_from_the_file_deletes_it_after_its_users_let_go() {
    let fake = Arc::new(Fake::default());
    let run = Run::new();
    run.up(&load(OWN_VPC), &fake, 10).await.unwrap();
    let smaller = load(&OWN_VPC.replace("[web, app]", "[web]").replace(
        "  app:\n    ingress:\n      - { port: 8080, from: web }\n",
        "",
    ));
    fake.calls.lock().unwrap().clear();
    let plan = run.up(&smaller, &fake, 10).await.unwrap();
    assert_eq!(plan.count(Action::Delete), 1);
    assert!(fake.pos("update ecs_service.api") < fake.pos("delete security_group.app"));
}

#[tokio::test]
async fn independent_steps_run_concurrently_within_the_limit() {
    let many: String = (0..12)
        .map(|i| format!("  g{i}:\n    ingress:\n      - {{ port: 80, cidr: 0.0.0.0/0 }}\n"))
        .collect();
    let yaml = format!("stack: demo\nsecurity_groups:\n{many}");
    let s = load(&yaml);
    for limit in [1, 4] {
        let fake = Arc::new(Fake::slow(Duration::from_millis(30)));
        Run::new().up(&s, &fake, limit).await.unwrap();
        let max = fake.max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            max, limit,
            "at most {limit} at once, and that many when there is work"
        );
    }
}

#[test]
fn state_files_are_private_and_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/demo.state.json");
    let mut s = state::load(&path, "demo").unwrap();
    state::save(&path, &s).unwrap();
    s.stack = "demo".into();
    state::save(&path, &s).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind");
    let err = state::load(&path, "other").unwrap_err();
    assert!(err.to_string().contains("belongs to stack `demo`"), "{err}");
    std::fs::write(&path, "{ not json").unwrap();
    assert!(
        state::load(&path, "demo")
            .unwrap_err()
            .to_string()
            .contains("damaged")
    );
}
