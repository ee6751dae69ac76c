//! The plan as a person reads it, for every template: creation, no changes, an update in
//! place, a replacement and the deletion. Snapshots (insta) with AWS ids redacted; the
//! plans are made against the in-memory fake, so they are the same on every machine.

use crate::fake::Fake;
use provision::exec::{self, Options};
use provision::plan::{self, Plan, render};
use provision::stack::{self, Stack};
use provision::state::{self, State, StateWriter};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn template(name: &str) -> String {
    std::fs::read_to_string(crate::emulator::root().join("templates").join(name)).unwrap()
}

fn parse(yaml: &str) -> Stack {
    stack::parse(Path::new("stack.yaml"), yaml).unwrap()
}

/// The plan as `provision plan` prints it, with the ids the fake made replaced by names.
fn shown(plan: &Plan, state: &State) -> String {
    let mut text = render::human(plan, &render::Style { color: false });
    // Longest first, so an id that contains another is replaced whole.
    let mut ids: Vec<(&String, &String)> = state
        .resources
        .iter()
        .map(|(id, e)| (&e.physical_id, id))
        .collect();
    ids.sort_by_key(|(pid, _)| std::cmp::Reverse(pid.len()));
    for (pid, id) in ids {
        text = text.replace(pid.as_str(), &format!("<{id}>"));
    }
    text
}

/// Creation, then no changes, then `update` and `replace` edits of the file, then deletion.
async fn snapshots(name: &str, update: (&str, &str), replace: (&str, &str)) {
    let yaml = template(&format!("{name}.yaml"));
    let stack = parse(&yaml);
    let fake = Arc::new(Fake::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let load = || state::load(&path, &stack.name).unwrap();

    let create = plan::plan_up(&stack, &load(), fake.clone(), 1, false)
        .await
        .unwrap();
    insta::assert_snapshot!(format!("{name}-1-create"), shown(&create, &load()));
    insta::assert_snapshot!(
        format!("{name}-1-create-markdown"),
        render::markdown(&create)
    );
    let opts = Options {
        parallelism: 1,
        wait: false,
        timeout: Duration::from_secs(5),
        tags: vec![],
        events: provision::events::Emitter::silent(),
    };
    let writer = Arc::new(StateWriter::new(path.clone(), load()));
    exec::execute(&create, fake.clone(), writer, &opts)
        .await
        .unwrap();

    let same = plan::plan_up(&stack, &load(), fake.clone(), 1, false)
        .await
        .unwrap();
    insta::assert_snapshot!(format!("{name}-2-no-changes"), shown(&same, &load()));

    for (step, (from, to)) in [("3-update", update), ("4-replace", replace)] {
        assert!(yaml.contains(from), "{name}.yaml has no `{from}`");
        let edited = parse(&yaml.replacen(from, to, 1));
        let p = plan::plan_up(&edited, &load(), fake.clone(), 1, false)
            .await
            .unwrap();
        insta::assert_snapshot!(format!("{name}-{step}"), shown(&p, &load()));
    }

    let down = plan::plan_down(&stack.name, &load()).unwrap();
    insta::assert_snapshot!(format!("{name}-5-delete"), shown(&down, &load()));
}

#[tokio::test]
async fn httpd_fargate() {
    snapshots(
        "httpd-fargate",
        ("image: httpd ", "image: httpd:2.4.62 "),
        ("  web:\n", "  web:\n    description: public HTTP\n"),
    )
    .await;
}

#[tokio::test]
async fn wordpress_ec2() {
    snapshots(
        "wordpress-ec2",
        ("memory: 512 ", "memory: 768 "),
        ("  db:\n", "  db:\n    description: MySQL\n"),
    )
    .await;
}

#[tokio::test]
async fn wordpress_fargate() {
    snapshots(
        "wordpress-fargate",
        ("image: wordpress", "image: wordpress:6"),
        ("  db:\n", "  db:\n    description: MySQL\n"),
    )
    .await;
}

#[tokio::test]
async fn httpd_fargate_alb() {
    snapshots(
        "httpd-fargate-alb",
        ("cpu: 60", "cpu: 70"),
        ("cidr: 10.1.0.0/16", "cidr: 10.7.0.0/16"),
    )
    .await;
}
