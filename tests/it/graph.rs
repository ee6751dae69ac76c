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

mod walk {
    use provision::graph::{Graph, GraphError, Stop};
    use std::sync::{Arc, Mutex};

    fn stop() -> tokio::sync::watch::Receiver<Stop> {
        let (tx, rx) = tokio::sync::watch::channel(Stop::Run);
        // The sender lives as long as the test's runtime needs it.
        std::mem::forget(tx);
        rx
    }

    #[tokio::test]
    async fn each_node_runs_after_its_dependencies_and_a_failure_skips_only_its_dependents() {
        let mut g = Graph::new();
        for (a, b) in [
            ("subnet", "vpc"),
            ("service", "subnet"),
            ("service", "sg"),
            ("sg", "vpc"),
        ] {
            g.add_edge(a, b);
        }
        g.add_node("role");
        g.add_edge("policy", "role");
        let ran = Arc::new(Mutex::new(Vec::new()));
        let walked = g
            .walk(2, stop(), |n, _| {
                let ran = ran.clone();
                async move {
                    ran.lock().unwrap().push(n.clone());
                    if n == "subnet" {
                        Err(format!("{n} refused"))
                    } else {
                        Ok(())
                    }
                }
            })
            .await
            .unwrap();
        let ran = ran.lock().unwrap().clone();
        let pos = |x: &str| ran.iter().position(|n| n == x);
        assert!(
            pos("vpc") < pos("subnet") && pos("vpc") < pos("sg"),
            "{ran:?}"
        );
        assert!(pos("role") < pos("policy"), "{ran:?}");
        assert_eq!(
            pos("service"),
            None,
            "a dependent of the failure never runs"
        );
        assert_eq!(
            walked.failed,
            [("subnet".to_string(), "subnet refused".to_string())]
        );
        assert_eq!(
            walked.skipped,
            [("service".to_string(), "subnet".to_string())]
        );
        let mut done = walked.done.clone();
        done.sort();
        assert_eq!(done, ["policy", "role", "sg", "vpc"]);
    }

    /// A node asleep (queued for a rate-limit token, or between two polls) gives its share
    /// of the parallelism back: with one share, four nodes that sleep 300 ms each all sleep
    /// at once, and never more than one is awake at a time.
    #[tokio::test]
    async fn a_sleeping_node_lets_another_run_and_awake_nodes_keep_to_the_limit() {
        let mut g = Graph::new();
        for n in ["a", "b", "c", "d"] {
            g.add_node(n);
        }
        // (awake now, most awake at once, asleep now, most asleep at once)
        let seen = Arc::new(Mutex::new([0i32; 4]));
        let walked = g
            .walk(1, stop(), |_, _| {
                let seen = seen.clone();
                async move {
                    let count = |i: usize, d: i32| {
                        let mut s = seen.lock().unwrap();
                        s[i] += d;
                        s[i + 1] = s[i + 1].max(s[i]);
                    };
                    count(0, 1);
                    count(0, -1);
                    count(2, 1);
                    provision::slot::idle(std::time::Duration::from_millis(300)).await;
                    count(2, -1);
                    count(0, 1);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    count(0, -1);
                    Ok::<(), String>(())
                }
            })
            .await
            .unwrap();
        assert_eq!(walked.done.len(), 4);
        let seen = *seen.lock().unwrap();
        assert_eq!(seen[3], 4, "all four asleep at once: {seen:?}");
        assert_eq!(seen[1], 1, "never two awake at once: {seen:?}");
    }

    /// Runs `g`, each node taking `ms` milliseconds and signalling half-way if it is in
    /// `signals`; returns (node, "start"/"signal"/"end") in the order they happened.
    async fn timeline(
        g: &Graph,
        ms: u64,
        signals: &'static [&'static str],
        fail: &'static str,
    ) -> (
        Vec<(String, &'static str)>,
        provision::graph::Walked<String>,
    ) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let walked = g
            .walk(8, stop(), |n, early| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push((n.clone(), "start"));
                    tokio::time::sleep(std::time::Duration::from_millis(ms / 2)).await;
                    if signals.contains(&n.as_str()) {
                        log.lock().unwrap().push((n.clone(), "signal"));
                        early.signal();
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(ms / 2)).await;
                    log.lock().unwrap().push((n.clone(), "end"));
                    if n == fail {
                        Err(format!("{n} refused"))
                    } else {
                        Ok(())
                    }
                }
            })
            .await
            .unwrap();
        let log = log.lock().unwrap().clone();
        (log, walked)
    }

    #[tokio::test]
    async fn an_early_edge_starts_on_the_signal_but_done_still_means_its_dependencies_are_done() {
        // subnet needs vpc only made; service needs subnet done, which must mean vpc done too.
        let mut g = Graph::new();
        g.add_early_edge("subnet", "vpc");
        g.add_edge("service", "subnet");
        let (log, walked) = timeline(&g, 200, &["vpc"], "").await;
        let at = |n: &str, what: &str| {
            log.iter()
                .position(|(a, b)| a == n && *b == what)
                .unwrap_or_else(|| panic!("no {n} {what} in {log:?}"))
        };
        assert!(at("subnet", "start") < at("vpc", "end"), "{log:?}");
        assert!(at("subnet", "start") > at("vpc", "signal"), "{log:?}");
        assert!(at("service", "start") > at("vpc", "end"), "{log:?}");
        assert!(at("service", "start") > at("subnet", "end"), "{log:?}");
        assert_eq!(walked.done.len(), 3);

        // Without a signal, the early edge waits for the end like any other.
        let (log, _) = timeline(&g, 100, &[], "").await;
        let at = |n: &str, what: &str| log.iter().position(|(a, b)| a == n && *b == what);
        assert!(at("subnet", "start") > at("vpc", "end"), "{log:?}");
    }

    #[tokio::test]
    async fn a_failure_after_the_signal_skips_what_had_not_started() {
        let mut g = Graph::new();
        g.add_early_edge("subnet", "vpc");
        g.add_edge("service", "subnet");
        g.add_node("role");
        let (log, walked) = timeline(&g, 100, &["vpc"], "vpc").await;
        assert!(log.contains(&("subnet".to_string(), "end")), "{log:?}");
        assert!(!log.iter().any(|(n, _)| n == "service"), "{log:?}");
        assert_eq!(walked.failed.len(), 1);
        assert_eq!(walked.skipped, [("service".to_string(), "vpc".to_string())]);
        let mut done = walked.done.clone();
        done.sort();
        // The subnet's own work finished and counts as done; only what followed is skipped.
        assert_eq!(done, ["role", "subnet"]);
    }

    #[tokio::test]
    async fn a_loose_edge_does_not_hold_the_start_but_done_waits_for_it() {
        // The service starts beside the route; what waits for the service finds the route done.
        let mut g = Graph::new();
        g.add_loose_edge("service", "route");
        g.add_edge("check", "service");
        let (log, walked) = timeline(&g, 200, &[], "").await;
        let at = |n: &str, what: &str| {
            log.iter()
                .position(|(a, b)| a == n && *b == what)
                .unwrap_or_else(|| panic!("no {n} {what} in {log:?}"))
        };
        assert!(at("service", "start") < at("route", "end"), "{log:?}");
        assert!(at("check", "start") > at("route", "end"), "{log:?}");
        assert!(at("check", "start") > at("service", "end"), "{log:?}");
        assert_eq!(walked.done.len(), 3);
    }

    #[tokio::test]
    async fn a_loose_edge_that_fails_skips_what_follows_its_dependent() {
        let mut g = Graph::new();
        g.add_loose_edge("service", "route");
        g.add_edge("check", "service");
        let (log, walked) = timeline(&g, 100, &[], "route").await;
        // The service was under way and finishes; what needed it done never starts.
        assert!(log.contains(&("service".to_string(), "end")), "{log:?}");
        assert!(!log.iter().any(|(n, _)| n == "check"), "{log:?}");
        assert_eq!(walked.skipped, [("check".to_string(), "route".to_string())]);
        assert_eq!(walked.done, ["service"]);
    }

    #[tokio::test]
    async fn a_cycle_is_refused_before_anything_runs() {
        let mut g = Graph::new();
        g.add_edge("a", "b");
        g.add_edge("b", "a");
        g.add_node("c");
        let ran = Arc::new(Mutex::new(0));
        let r = g
            .walk(4, stop(), |_, _| {
                let ran = ran.clone();
                async move {
                    *ran.lock().unwrap() += 1;
                    Ok::<(), ()>(())
                }
            })
            .await;
        assert!(matches!(r, Err(GraphError::Cycle(_))));
        assert_eq!(*ran.lock().unwrap(), 0);
    }

    #[test]
    fn deletion_order_from_a_state_with_a_cycle_is_an_error_naming_it() {
        let entry = |deps: &[&str]| provision::state::Entry {
            kind: provision::desired::Kind::SecurityGroup,
            physical_id: "sg-1".into(),
            props: serde_json::json!({}),
            outputs: Default::default(),
            deps: deps.iter().map(|d| d.to_string()).collect(),
            revisions: Vec::new(),
            incomplete: false,
        };
        let mut state = provision::state::State {
            stack: "demo".into(),
            ..Default::default()
        };
        state
            .resources
            .insert("security_group.a".into(), entry(&["security_group.b"]));
        state
            .resources
            .insert("security_group.b".into(), entry(&["security_group.a"]));
        let err = provision::plan::plan_down("demo", &state).unwrap_err();
        let said = err.to_string();
        assert!(
            said.contains("security_group.a") && said.contains("security_group.b"),
            "{said}"
        );
    }
}
