//! Adoption discovery happens once per kind at plan time: creates of resources AWS has
//! none of go ahead without looking first; one an earlier run made and did not record is
//! found by its tags, said in the plan and adopted; a same-named one of someone else's
//! is still refused by name.

use crate::emulator::{
    self, CALL_LOG, Faults, clear_requests, is_mutating, provision, requests, text, timed_requests,
};

/// Asserts that `first` was sent before some `second` was answered: it did not wait for it.
fn overlapped(first: &str, second: &str) {
    let calls = timed_requests();
    let sent = calls
        .iter()
        .filter(|(a, _, _)| a == first)
        .map(|(_, t0, _)| *t0)
        .fold(f64::MAX, f64::min);
    let answered = calls
        .iter()
        .filter(|(a, _, _)| a == second)
        .map(|(_, _, t1)| *t1)
        .fold(0.0, f64::max);
    assert!(
        sent < answered,
        "{first} waited for {second}: {:?}",
        calls
            .iter()
            .map(|(a, t0, t1)| format!("{a} {t0:.3}-{t1:.3}"))
            .collect::<Vec<_>>()
    );
}

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
    // Each request takes 300 ms, as a far region would: what waits on what shows.
    let latency = Faults::set(serde_json::json!({"latency_ms": 300}));
    clear_requests();
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    // What is made inside the VPC needs only its id, not its DNS setting.
    overlapped("CreateSubnet", "ModifyVpcAttribute");
    overlapped("CreateSecurityGroup", "ModifyVpcAttribute");
    overlapped("CreateInternetGateway", "ModifyVpcAttribute");
    // The gateway is made with the VPC; the table attaches it while the table is made,
    // and the subnets are associated while the route waits for the attachment.
    overlapped("CreateInternetGateway", "CreateVpc");
    overlapped("CreateRouteTable", "AttachInternetGateway");
    // A task definition needs its role's ARN, not its policies; the service needs its
    // subnets' and group's ids and the task definition, not the subnets' settings, the
    // group's rules or the internet route (its tasks, started later, need those).
    overlapped("RegisterTaskDefinition", "AttachRolePolicy");
    overlapped("CreateService", "ModifySubnetAttribute");
    overlapped("CreateService", "AuthorizeSecurityGroupIngress");
    overlapped("CreateService", "AssociateRouteTable");
    overlapped("CreateService", "CreateRoute");
    let calls = timed_requests();
    let attached = calls
        .iter()
        .find(|(a, _, _)| a == "AttachInternetGateway")
        .map(|(_, _, t1)| *t1)
        .expect("the gateway was attached");
    let routed = calls
        .iter()
        .find(|(a, _, _)| a == "CreateRoute")
        .map(|(_, t0, _)| *t0)
        .expect("a route was made");
    assert!(routed >= attached, "{calls:?}");
    let calls = requests();
    // Kinds found through others (services and capacity through clusters, listeners
    // through load balancers, policies through roles) share one discovery.
    for listing in ["GetResources", "DescribeLoadBalancers", "ListRoles"] {
        let n = calls.iter().filter(|(_, a)| a == listing).count();
        assert_eq!(n, 1, "{listing}: {calls:?}");
    }
    // Clusters are found by the stack's tag, not by listing and describing every one.
    assert!(!calls.iter().any(|(_, a)| a == "ListClusters"), "{calls:?}");
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
    // Subnets go once their associations are removed; the table while the gateway is
    // detached; the VPC once the table is gone and the gateway detached.
    overlapped("DeleteSubnet", "DeleteRouteTable");
    overlapped("DeleteVpc", "DeleteInternetGateway");
    overlapped("DeleteRouteTable", "DetachInternetGateway");
    drop(latency);
    let calls = requests();
    let read_first: Vec<&String> = calls
        .iter()
        .map(|(_, a)| a)
        .filter(|a| {
            [
                "DescribeRouteTables",
                "DescribeInternetGateways",
                "UpdateService",
                "ListAttachedRolePolicies",
                "ListRolePolicies",
                "ListInstanceProfilesForRole",
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
    // A policy attached to the execution role by hand: IAM refuses to delete the role
    // with only the stack's own detached, and `down` reads the role and detaches it too.
    let role = state["resources"]["iam_role.task_execution"]["physical_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", state["resources"]))
        .to_string();
    c.iam
        .attach_role_policy()
        .role_name(&role)
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(
        crate::leftovers::leftovers(&c, stack, stack).await,
        Vec::<String>::new()
    );
    assert!(
        c.iam.get_role().role_name(&role).send().await.is_err(),
        "the role is deleted"
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
