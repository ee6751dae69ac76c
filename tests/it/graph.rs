//! The generic DAG: layers, cycles, reverse order.

use provision::graph::{Graph, GraphError};

fn g(edges: &[(&str, &str)]) -> Graph {
    let mut g = Graph::new();
    for (a, b) in edges {
        g.add_edge(a, b);
    }
    g
}

#[test]
fn layers_put_dependencies_first() {
    let graph = g(&[
        ("subnet", "vpc"),
        ("sg", "vpc"),
        ("service", "subnet"),
        ("service", "sg"),
        ("service", "td"),
        ("td", "role"),
    ]);
    let layers = graph.layers().unwrap();
    assert_eq!(layers[0], ["role", "vpc"]);
    assert_eq!(layers[1], ["sg", "subnet", "td"]);
    assert_eq!(layers[2], ["service"]);
    let order = graph.order().unwrap();
    let rev = graph.reverse_order().unwrap();
    for (a, b) in [("subnet", "vpc"), ("service", "sg"), ("td", "role")] {
        let pos = |o: &[String], x: &str| o.iter().position(|n| n == x).unwrap();
        assert!(
            pos(&order, b) < pos(&order, a),
            "{b} before {a} when creating"
        );
        assert!(pos(&rev, a) < pos(&rev, b), "{a} before {b} when deleting");
    }
}

#[test]
fn a_cycle_is_reported_with_its_members() {
    let graph = g(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]);
    match graph.layers() {
        Err(GraphError::Cycle(members)) => {
            assert_eq!(members.first(), members.last());
            let mut inner = members[..members.len() - 1].to_vec();
            inner.sort();
            assert_eq!(inner, ["a", "b", "c"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(g(&[("x", "x")]).layers().is_err());
}

#[test]
fn dependents_are_found_transitively() {
    let graph = g(&[("subnet", "vpc"), ("service", "subnet"), ("other", "role")]);
    let deps = graph.all_dependents("vpc");
    assert_eq!(deps.into_iter().collect::<Vec<_>>(), ["service", "subnet"]);
}
