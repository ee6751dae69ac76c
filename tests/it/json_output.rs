//! `--json`: one JSON object per line on stdout, the last a summary with `"ok"`; `-v`:
//! every AWS call logged on stderr.

use crate::emulator::{self, CALL_LOG, provision, stack_dir, text};
use serde_json::Value as Json;

/// Every stdout line as JSON; fails on a line that is not.
fn lines(out: &std::process::Output) -> Vec<Json> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn events<'a>(all: &'a [Json], kind: &str) -> Vec<&'a Json> {
    all.iter().filter(|e| e["event"] == kind).collect()
}

#[tokio::test]
async fn every_command_speaks_json_lines_ending_in_a_summary() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-json";
    let dir = stack_dir("httpd-fargate.yaml", stack);

    let plan = provision(dir.path(), &["plan", "--json"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let all = lines(&plan);
    assert_eq!(all[0]["event"], "plan");
    assert_eq!(all[0]["plan"]["stack"], stack);
    assert_eq!(events(&all, "plan_ready")[0]["create"], 6);
    let last = all.last().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["ok"].as_bool()),
        (Some("summary"), Some(true))
    );

    let up = provision(dir.path(), &["up", "--yes", "--no-wait", "--json"]);
    assert!(up.status.success(), "{}", text(&up));
    let all = lines(&up);
    let started = events(&all, "started");
    let done = events(&all, "done");
    assert_eq!(started.len(), 6, "{all:?}");
    assert_eq!(done.len(), 6, "{all:?}");
    assert!(
        done.iter().any(|d| d["id"] == "security_group.web"
            && d["physical_id"].as_str().unwrap().starts_with("sg-")),
        "{done:?}"
    );
    let last = all.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["ok"], true);
    assert_eq!(last["changes"], 6);

    let outputs = provision(dir.path(), &["outputs", "--json", "--offline"]);
    let all = lines(&outputs);
    assert_eq!(all[0]["event"], "outputs");
    assert!(
        all[0]["outputs"]["ecs_cluster"]["arn"].is_string(),
        "{all:?}"
    );
    assert_eq!(all.last().unwrap()["ok"], true);

    // Without --yes there is no one to ask: refused, and said so in the summary line.
    let refused = provision(dir.path(), &["down", "--json"]);
    assert!(!refused.status.success());
    let all = lines(&refused);
    let last = all.last().unwrap();
    assert_eq!(last["ok"], false);
    assert!(last["error"].as_str().unwrap().contains("--yes"), "{last}");

    let down = provision(dir.path(), &["down", "--yes", "--json"]);
    assert!(down.status.success(), "{}", text(&down));
    let all = lines(&down);
    assert_eq!(events(&all, "done").len(), 6, "{all:?}");
    assert!(events(&all, "done").iter().all(|d| d["action"] == "delete"));
    assert_eq!(all.last().unwrap()["ok"], true);
}

#[tokio::test]
async fn verbose_logs_every_aws_call() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let dir = stack_dir("httpd-fargate.yaml", "e2e-verbose");
    let out = provision(dir.path(), &["-v", "plan"]);
    assert!(out.status.success(), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    for call in ["GetCallerIdentity", "DescribeVpcs"] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("operation={call}")))
            .unwrap_or_else(|| panic!("no log line for {call}: {log}"));
        assert!(line.contains("ms=") && line.contains("attempts="), "{line}");
    }
    // Without -v, nothing of the sort.
    let quiet = provision(dir.path(), &["plan"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("operation="));
    let _ = emulator::get();
}
