//! A plan reads each kind in a few calls: twelve services in two DescribeServices (ten a
//! call), their task definitions in one listing of active revisions. What the batch does
//! not find (a service deleted, a revision deregistered outside provision) still shows.

use crate::emulator::{
    self, CALL_LOG, clear_requests, clients, provision, raw_json_call, requests, text,
    timed_requests,
};

fn count(calls: &[(String, String)], action: &str) -> usize {
    calls.iter().filter(|(_, a)| a == action).count()
}

#[tokio::test]
async fn a_plan_reads_services_and_task_definitions_in_batches() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-batched";
    let dir = emulator::services_dir(stack, 12, 0);
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    // s1's log group name is a prefix of s10's and s11's: each recorded its own ARN, the
    // one CloudWatch Logs gives (built from the caller's identity, not read back).
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(format!(".provision/{stack}.state.json")))
            .unwrap(),
    )
    .unwrap();
    let c = clients().await;
    for s in ["s1", "s10", "s11"] {
        let arn = state["resources"][format!("log_group.{s}")]["outputs"]["arn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = format!("/ecs/{stack}/{s}");
        let listed = c
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .unwrap();
        let theirs = listed
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name.as_str()))
            .and_then(|g| g.arn())
            .unwrap_or_default();
        assert_eq!(
            format!("{arn}:*"),
            theirs,
            "{s}: recorded {arn}, CloudWatch Logs says {theirs}"
        );
    }

    clear_requests();
    let plan = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let calls = requests();
    assert_eq!(count(&calls, "DescribeServices"), 2, "{calls:?}");
    assert_eq!(count(&calls, "DescribeTaskDefinition"), 0, "{calls:?}");
    assert_eq!(count(&calls, "ListTaskDefinitions"), 1, "{calls:?}");

    // Outside provision: one service deleted, another's revision deregistered.
    let cluster = stack.to_string();
    c.ecs
        .delete_service()
        .cluster(&cluster)
        .service("s3")
        .force(true)
        .send()
        .await
        .unwrap();
    let arns = c
        .ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-s7"))
        .send()
        .await
        .unwrap();
    c.ecs
        .deregister_task_definition()
        .task_definition(&arns.task_definition_arns()[0])
        .send()
        .await
        .unwrap();
    let plan = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    let out = text(&plan);
    assert_eq!(plan.status.code(), Some(2), "{out}");
    for gone in ["ecs_service.s3", "task_definition.s7"] {
        let line = out
            .lines()
            .find(|l| l.contains(gone))
            .unwrap_or_else(|| panic!("{gone} in the plan:\n{out}"));
        assert!(line.trim_start().starts_with('+'), "created again: {line}");
    }
    assert!(out.contains("no longer exists in AWS"), "{out}");

    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
}

#[test]
fn the_emulator_pages_task_definitions_and_caps_describe_services() {
    let services: Vec<String> = (0..11).map(|i| format!("\"s{i}\"")).collect();
    let (status, body) = raw_json_call(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        &format!("{{\"services\": [{}]}}", services.join(",")),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidParameterException"), "{body}");
    let td = r#"{"family": "e2e-pages", "containerDefinitions": [{"name": "a", "image": "httpd", "memory": 64}]}"#;
    for _ in 0..3 {
        let (status, body) = raw_json_call(
            "ecs",
            "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
            td,
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = raw_json_call(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.ListTaskDefinitions",
        r#"{"familyPrefix": "e2e-pages", "maxResults": 2}"#,
    );
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        page["taskDefinitionArns"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    assert!(page["nextToken"].is_string(), "{body}");
}

#[tokio::test]
async fn down_deregisters_every_stray_revision_of_a_family_past_the_first_page() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-strays";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        format!(
            "stack: {stack}\nsecurity_groups:\n  web: {{}}\nservices:\n  app:\n    cpu: 256\n    memory: 512\n    desired_count: 0\n    security_groups: [web]\n    containers:\n      app: {{ image: httpd }}\n"
        ),
    )
    .unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));

    // As if killed runs had registered 120 revisions and never recorded them: more than
    // ListTaskDefinitions answers in one page (100), each with the stack's tags.
    let c = clients().await;
    let family = format!("{stack}-app");
    register_strays(&c, &family, 120).await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(
        active(&c, &family).await,
        Vec::<String>::new(),
        "every revision deregistered"
    );
}

/// AWS lists a family as ACTIVE only while it has an ACTIVE revision; moto listed every
/// family it had ever seen, so discovery of a stack that went up and down before paid a
/// ListTaskDefinitions for each of its old families.
#[test]
fn the_emulator_lists_task_definition_families_by_status() {
    let td = r#"{"family": "e2e-family-status", "containerDefinitions": [{"name": "a", "image": "httpd", "memory": 64}]}"#;
    let (status, body) = raw_json_call(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        td,
    );
    assert_eq!(status, 200, "{body}");
    let arn = serde_json::from_str::<serde_json::Value>(&body).unwrap()["taskDefinition"]
        ["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let families = |status: Option<&str>| {
        let query = match status {
            Some(s) => format!(r#"{{"familyPrefix": "e2e-family-status", "status": "{s}"}}"#),
            None => r#"{"familyPrefix": "e2e-family-status"}"#.to_string(),
        };
        let (code, body) = raw_json_call(
            "ecs",
            "AmazonEC2ContainerServiceV20141113.ListTaskDefinitionFamilies",
            &query,
        );
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["families"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(families(Some("ACTIVE")), 1);
    assert_eq!(families(Some("INACTIVE")), 0);
    let (status, body) = raw_json_call(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DeregisterTaskDefinition",
        &format!(r#"{{"taskDefinition": "{arn}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(families(Some("ACTIVE")), 0, "no ACTIVE revision left");
    assert_eq!(families(Some("INACTIVE")), 1);
    assert_eq!(families(None), 1, "ALL is the default");
}

/// The emulator keeps a connection open between requests, as AWS's endpoints do: a second
/// request on the same connection is answered (werkzeug alone closes after each).
#[test]
fn the_emulator_keeps_connections_alive() {
    use std::io::{BufRead, BufReader, Read, Write};
    let port = crate::emulator::get().port;
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("emulator answers");
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut writer = s;
    for _ in 0..2 {
        write!(
            writer,
            "GET /_provision/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut length = None;
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            assert!(!line.eq_ignore_ascii_case("connection: close"), "{line}");
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.expect("a Content-Length")];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(body, br#"{"ok": true}"#);
    }
}

/// The round-trip model times each answer from when its request reached the socket, not
/// from when the emulator, which accepts connections one at a time, got to reading it: a
/// burst of new connections is timed as it was sent. Each request is stamped no later
/// than the moment its client's write returned.
#[test]
fn the_emulator_times_a_request_from_when_it_reached_the_socket() {
    use std::io::{Read, Write};
    use std::time::{SystemTime, UNIX_EPOCH};
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let port = crate::emulator::get().port;
    clear_requests();
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let mut sent = Vec::new();
    let mut conns: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("emulator answers"))
        .collect();
    for c in &mut conns {
        write!(
            c,
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        sent.push(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs_f64(),
        );
    }
    for c in &mut conns {
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).unwrap();
    }
    let mut came: Vec<f64> = timed_requests()
        .into_iter()
        .filter(|(action, _, _)| action == "GetCallerIdentity")
        .map(|(_, t0, _)| t0)
        .collect();
    assert_eq!(came.len(), 20, "{came:?}");
    came.sort_by(f64::total_cmp);
    let last_sent = sent.iter().copied().fold(f64::MIN, f64::max);
    assert!(
        came[19] <= last_sent + 0.000_1,
        "the last request was timed {:.2} ms after the last write returned",
        (came[19] - last_sent) * 1000.0
    );
}

/// A `down` of many task definitions lists the account's active revisions once for all of
/// them, not once per family, and still finds a stray a killed run left in one family.
#[tokio::test]
async fn down_looks_for_strays_of_every_family_in_one_listing() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-onelist";
    let dir = emulator::services_dir(stack, 12, 0);
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    // As if a killed run had registered a revision of `s3` and never recorded it.
    let c = clients().await;
    let family = format!("{stack}-s3");
    register_strays(&c, &family, 1).await;
    clear_requests();
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    let listings = count(&requests(), "ListTaskDefinitions");
    assert!(
        (1..12).contains(&listings),
        "{listings} ListTaskDefinitions for 12 families"
    );
    assert_eq!(
        active(&c, &family).await,
        Vec::<String>::new(),
        "the stray is deregistered"
    );
}

/// Registers `n` revisions of `family` with the tags of its recorded one, as killed runs
/// would have, straight to the emulator: the SDK clients keep AWS's rate for
/// registrations (1 a second), which would make a test take minutes.
async fn register_strays(c: &provision::aws::Clients, family: &str, n: usize) {
    let ours = c
        .ecs
        .describe_task_definition()
        .task_definition(family)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let tags: Vec<serde_json::Value> = ours
        .tags()
        .iter()
        .map(|t| serde_json::json!({"key": t.key(), "value": t.value()}))
        .collect();
    let body = serde_json::json!({
        "family": family,
        "containerDefinitions": [{"name": "app", "image": "httpd", "essential": true}],
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "tags": tags,
    })
    .to_string();
    for _ in 0..n {
        let (status, answer) = raw_json_call(
            "ecs",
            "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
            &body,
        );
        assert_eq!(status, 200, "{answer}");
    }
}

/// The active revisions of `family` (the first page: the tests expect none).
async fn active(c: &provision::aws::Clients, family: &str) -> Vec<String> {
    c.ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .to_vec()
}
