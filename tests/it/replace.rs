//! A replacement never deletes what something still uses: the new resource is made first
//! (under a fresh name), its users move to it, then the old one goes.

use crate::emulator::{self, CALL_LOG, provision, stack_dir, text};
use crate::leftovers::leftovers;

fn state_of(dir: &std::path::Path, stack: &str) -> serde_json::Value {
    let path = dir.join(".provision").join(format!("{stack}.state.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_group_in_use_is_replaced_without_a_dependency_violation() {
    // Alone: it slows the release of stopped tasks' interfaces for every test.
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let stack = "e2e-replace";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    assert!(up.status.success(), "{}", text(&up));
    let old = state_of(dir.path(), stack)["resources"]["security_group.web"]["physical_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A description cannot change in place: the group is replaced while the service runs in it.
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        yaml.replacen("  web:\n", "  web:\n    description: public HTTP\n", 1),
    )
    .unwrap();
    let plan = provision(dir.path(), &["plan"]);
    let said = text(&plan);
    assert!(said.contains("-/+ security_group.web"), "{said}");
    assert!(said.contains("created first as `<name>-<4 hex>`"), "{said}");

    let up = provision(dir.path(), &["up", "--yes", "--timeout", "5m"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        !said.contains("DependencyViolation"),
        "it never waited on a refusal: {said}"
    );

    let state = state_of(dir.path(), stack);
    let new = state["resources"]["security_group.web"]["physical_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old, "a new group");
    assert!(
        state["resources"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("(old)")),
        "the old group is no longer in the state: {state}"
    );
    let g = c
        .ec2
        .describe_security_groups()
        .group_ids(&new)
        .send()
        .await
        .unwrap();
    let g = &g.security_groups()[0];
    assert_eq!(g.description(), Some("public HTTP"));
    assert!(
        g.group_name()
            .unwrap()
            .starts_with(&format!("{stack}-web-")),
        "a fresh name beside the old one: {:?}",
        g.group_name()
    );
    let svc = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap();
    let groups = svc.services()[0]
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|v| v.security_groups().to_vec())
        .unwrap_or_default();
    assert_eq!(groups, vec![new.clone()], "the service uses the new group");
    let gone = c
        .ec2
        .describe_security_groups()
        .group_ids(&old)
        .send()
        .await;
    assert!(gone.is_err(), "the old group is deleted: {gone:?}");

    // Nothing to do now, and `down` still leaves nothing.
    let again = provision(dir.path(), &["plan"]);
    assert!(text(&again).contains("No changes"), "{}", text(&again));
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// Up with `before`, then `up` with `after`: refused before any mutating call, saying
/// `note` in the plan and that `id` would have to be replaced; `down` (of `before`, whose
/// cluster is `cluster`) still removes everything.
async fn refused_before_any_change(
    stack: &str,
    cluster: &str,
    before: &str,
    after: &str,
    note: &str,
    id: &str,
) {
    let c = emulator::clients().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |yaml: &str| {
        std::fs::write(
            dir.path().join("stack.yaml"),
            format!("stack: {stack}\n{yaml}"),
        )
        .unwrap()
    };
    write(before);
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));

    write(after);
    emulator::clear_requests();
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    let said = text(&up);
    assert!(!up.status.success(), "{said}");
    assert!(said.contains(note), "{said}");
    assert!(
        said.contains(&format!(
            "{id} would have to be replaced, which provision cannot do yet; nothing was changed"
        )),
        "{said}"
    );
    let changed: Vec<String> = emulator::requests()
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| emulator::is_mutating(a))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");

    write(before);
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, cluster).await, Vec::<String>::new());
}

/// A new CIDR would replace the VPC with everything in it, which AWS refuses to delete
/// first and the engine cannot yet take out in order: `up` says so before any change.
#[tokio::test]
async fn a_new_vpc_cidr_is_refused_before_any_change() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let vpc = |cidr: &str| {
        format!(
            "network:\n  vpc: {{ cidr: {cidr}, public_subnets: 1 }}\nsecurity_groups:\n  web: {{}}\n"
        )
    };
    refused_before_any_change(
        "e2e-new-cidr",
        "e2e-new-cidr",
        &vpc("10.11.0.0/16"),
        &vpc("10.12.0.0/16"),
        "AWS cannot change a VPC's CIDR",
        "vpc",
    )
    .await;
}

/// A new cluster name would replace the cluster with its services, which ECS refuses to
/// delete first: `up` says so before any change.
#[tokio::test]
async fn a_renamed_cluster_is_refused_before_any_change() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let named = |cluster: &str| {
        format!(
            "cluster: {cluster}\nsecurity_groups:\n  web: {{}}\nservices:\n  app:\n    cpu: 256\n    memory: 512\n    desired_count: 0\n    security_groups: [web]\n    containers:\n      app: {{ image: httpd }}\n"
        )
    };
    refused_before_any_change(
        "e2e-rename-cluster",
        "e2e-rename-a",
        &named("e2e-rename-a"),
        &named("e2e-rename-b"),
        "ECS cannot rename a cluster",
        "ecs_cluster",
    )
    .await;
}
