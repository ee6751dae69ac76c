//! Adoption discovery happens once per kind at plan time: creates of resources AWS has
//! none of go ahead without looking first; one an earlier run made and did not record is
//! found by its tags, said in the plan and adopted; a same-named one of someone else's
//! is still refused by name.

use crate::emulator::{self, CALL_LOG, clear_requests, is_mutating, provision, requests, text};

const STACK_FILE: &str = "network:
  vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }
security_groups:
  web:
    ingress:
      - { port: 80, cidr: 0.0.0.0/0 }
services:
  httpd:
    cpu: 256
    memory: 512
    public_ip: true
    security_groups: [web]
    containers:
      httpd: { image: httpd, ports: [80] }
";

fn stack_dir(stack: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        format!("stack: {stack}\n{STACK_FILE}"),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn creates_do_not_look_first_when_discovery_found_nothing() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-discovery";
    let dir = stack_dir(stack);
    clear_requests();
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    let calls = requests();
    let first_write = calls
        .iter()
        .position(|(_, a)| is_mutating(a))
        .expect("up made something");
    let looked: Vec<&String> = calls[first_write..]
        .iter()
        .map(|(_, a)| a)
        .filter(|a| {
            [
                "GetRole",
                "DescribeVpcs",
                "DescribeSubnets",
                "DescribeInternetGateways",
                "DescribeRouteTables",
                "DescribeSecurityGroups",
                "DescribeServices",
                "ListTaskDefinitions",
                "ListAttachedRolePolicies",
            ]
            .contains(&a.as_str())
        })
        .collect();
    assert!(looked.is_empty(), "reads before creates: {looked:?}");

    // `down` removes what the outputs recorded (associations, the gateway's VPC) without
    // reading first, and deletes the service in one call.
    clear_requests();
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    let calls = requests();
    let read_first: Vec<&String> = calls
        .iter()
        .map(|(_, a)| a)
        .filter(|a| {
            [
                "DescribeRouteTables",
                "DescribeInternetGateways",
                "UpdateService",
            ]
            .contains(&a.as_str())
        })
        .collect();
    assert!(read_first.is_empty(), "{read_first:?}");
    let c = emulator::clients().await;
    assert_eq!(
        crate::leftovers::leftovers(&c, stack, stack).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_resource_an_earlier_run_made_but_did_not_record_is_adopted() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-discovery-adopt";
    let dir = stack_dir(stack);
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));

    // As if killed between AWS's answer and the state write: the security group and the
    // log group are in AWS, with their tags, and not in the state.
    let path = dir.path().join(format!(".provision/{stack}.state.json"));
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let resources = state["resources"].as_object_mut().unwrap();
    let group = resources.remove("security_group.web").unwrap();
    resources.remove("log_group.httpd").unwrap();
    std::fs::write(&path, state.to_string()).unwrap();

    let plan = provision(dir.path(), &["plan"]);
    let said = text(&plan);
    assert!(
        said.matches("found in AWS by its tags").count() >= 2,
        "{said}"
    );
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["security_group.web"]["physical_id"], group["physical_id"],
        "the same group, adopted"
    );
    let again = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // A subnet's association redone by hand: the recorded association id is stale, and
    // `down` finds the new one by reading the table.
    let c = emulator::clients().await;
    let table = state["resources"]["route_table.public"]["physical_id"]
        .as_str()
        .unwrap()
        .to_string();
    let rt = c
        .ec2
        .describe_route_tables()
        .route_table_ids(&table)
        .send()
        .await
        .unwrap();
    let assoc = rt.route_tables()[0]
        .associations()
        .iter()
        .find(|a| a.subnet_id().is_some())
        .unwrap()
        .clone();
    c.ec2
        .disassociate_route_table()
        .association_id(assoc.route_table_association_id().unwrap())
        .send()
        .await
        .unwrap();
    c.ec2
        .associate_route_table()
        .route_table_id(&table)
        .subnet_id(assoc.subnet_id().unwrap())
        .send()
        .await
        .unwrap();
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(
        crate::leftovers::leftovers(&c, stack, stack).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn someone_elses_log_group_of_the_same_name_is_refused_not_adopted() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-discovery-foreign";
    let dir = stack_dir(stack);
    let c = emulator::clients().await;
    let name = format!("/ecs/{stack}/httpd");
    c.logs
        .create_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    let said = text(&up);
    assert_eq!(up.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "a log group named {name} already exists and does not belong to stack {stack}"
        )),
        "{said}"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    let still = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(still.log_groups().len(), 1, "someone else's group is kept");
    c.logs
        .delete_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
}
