//! A lost state (a fresh CI runner): what the stack owns is found in AWS by its tags.

use crate::emulator::{self, CALL_LOG, provision, stack_dir_named, text};
use crate::leftovers::leftovers;
use serde_json::Value as Json;

#[tokio::test]
async fn without_its_state_a_stack_is_found_recovered_and_deleted() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let stack = "e2e-lost";
    let dir = stack_dir_named("wordpress-ec2.yaml", "wordpress", stack);
    // A cluster not named after the stack is found through the tag index, not by its name.
    let file = dir.path().join("stack.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains(&format!("cluster: {stack}\n")));
    let cluster = "e2e-lost-apps";
    std::fs::write(
        &file,
        yaml.replace(
            &format!("cluster: {stack}\n"),
            &format!("cluster: {cluster}\n"),
        ),
    )
    .unwrap();
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    let state_path = dir.path().join(format!(".provision/{stack}.state.json"));
    let lost: Json = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    std::fs::remove_file(&state_path).unwrap();

    // plan: nothing to create, since everything exists.
    let plan = provision(dir.path(), &["plan"]);
    let said = text(&plan);
    assert!(plan.status.success(), "{said}");
    assert!(
        said.contains("found 25 resources of stack e2e-lost in AWS"),
        "{said}"
    );
    assert!(
        said.contains("0 to create") || said.contains("No changes"),
        "{said}"
    );
    assert!(!state_path.exists(), "plan writes no state");

    // state recover: the same state, resource by resource.
    let rec = provision(dir.path(), &["state", "recover"]);
    assert!(rec.status.success(), "{}", text(&rec));
    let got: Json = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let (want, got) = (
        lost["resources"].as_object().unwrap(),
        got["resources"].as_object().unwrap(),
    );
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "the same resources"
    );
    for (id, w) in want {
        let g = &got[id];
        for field in ["kind", "physical_id", "deps", "props"] {
            assert_eq!(w[field], g[field], "{id}.{field}");
        }
        let mut outputs = w["outputs"].clone();
        // Which deployment a service's last update started is not kept by AWS for long.
        outputs.as_object_mut().unwrap().remove("deployment_id");
        assert_eq!(outputs, g["outputs"], "{id}.outputs");
    }
    let show = provision(dir.path(), &["state", "show"]);
    assert!(text(&show).contains("25 resources"), "{}", text(&show));

    // down with no state at all: everything tagged with the stack goes.
    std::fs::remove_file(&state_path).unwrap();
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        text(&down).contains("25 resources deleted"),
        "{}",
        text(&down)
    );
    assert_eq!(leftovers(&c, stack, cluster).await, Vec::<String>::new());
}
