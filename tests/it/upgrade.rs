//! A state written before the route table attached the gateway and the subnets'
//! associations became resources of their own (the gateway then recorded its VPC, the
//! table its subnets and their association ids): the next `up` takes it over without
//! making or replacing anything, and `down` from it removes everything.

use crate::emulator::{CALL_LOG, clear_requests, is_mutating, provision, requests, text};
use crate::leftovers::leftovers;
use serde_json::{Value as Json, json};

/// Rewrites the stack's state into the shape the previous version wrote.
fn make_old(path: &std::path::Path, stack: &str) -> Json {
    let state = provision::state::load(path, stack).unwrap();
    let mut st = serde_json::to_value(&state).unwrap();
    let res = st["resources"].as_object_mut().unwrap();
    let vpc = res["vpc"]["physical_id"].clone();
    let assocs: Vec<String> = res
        .keys()
        .filter(|k| k.starts_with("route_table_association."))
        .cloned()
        .collect();
    let mut subnets = Vec::new();
    let mut recorded = serde_json::Map::new();
    for a in &assocs {
        let entry = res.remove(a).unwrap();
        let subnet = entry["props"]["subnet_id"].clone();
        recorded.insert(
            subnet.as_str().unwrap().into(),
            entry["physical_id"].clone(),
        );
        subnets.push(subnet);
    }
    assert_eq!(subnets.len(), 2, "{st}");
    let igw = &mut res["internet_gateway"];
    igw["props"]["vpc_id"] = vpc;
    igw["deps"] = json!(["vpc"]);
    let rt = &mut res["route_table.public"];
    rt["props"]["subnet_ids"] = Json::Array(subnets);
    rt["outputs"]["associations"] = Json::Object(recorded.clone());
    let old: provision::state::State = serde_json::from_value(st).unwrap();
    provision::state::save(path, &old).unwrap();
    Json::Object(recorded)
}

#[tokio::test]
async fn a_state_from_before_associations_were_resources_is_taken_over() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let c = crate::emulator::clients().await;
    for then in ["up", "down"] {
        let stack = format!("e2e-old-{then}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stack.yaml"),
            format!(
                "stack: {stack}\nnetwork:\n  vpc: {{ cidr: 10.5.0.0/16, public_subnets: 2 }}\n"
            ),
        )
        .unwrap();
        let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
        assert!(up.status.success(), "{}", text(&up));
        let path = dir.path().join(format!(".provision/{stack}.state.json"));
        let recorded = make_old(&path, &stack);

        if then == "up" {
            clear_requests();
            let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
            assert!(up.status.success(), "{}", text(&up));
            // Nothing made or removed: the associations are found where they are. (The
            // gateway's recorded VPC and the table's recorded associations stay, unused but
            // by their deletions, which take "already detached" and "already gone" as done.)
            let changed: Vec<String> = requests()
                .into_iter()
                .map(|(_, a)| a)
                .filter(|a| is_mutating(a) && a != "AssociateRouteTable")
                .collect();
            assert!(changed.is_empty(), "{changed:?}\n{}", text(&up));
            let st = serde_json::to_value(provision::state::load(&path, &stack).unwrap()).unwrap();
            for (subnet, assoc) in recorded.as_object().unwrap() {
                let found = st["resources"]
                    .as_object()
                    .unwrap()
                    .values()
                    .find(|e| e["props"]["subnet_id"] == json!(subnet))
                    .unwrap_or_else(|| panic!("no association of {subnet}: {st}"));
                assert_eq!(&found["physical_id"], assoc, "{st}");
            }
            let plan = provision(dir.path(), &["plan"]);
            assert!(text(&plan).contains("No changes"), "{}", text(&plan));
        }
        let down = provision(dir.path(), &["down", "--yes"]);
        assert!(down.status.success(), "{}", text(&down));
        assert_eq!(leftovers(&c, &stack, &stack).await, Vec::<String>::new());
    }
}
