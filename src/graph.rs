//! A small generic DAG: topological layers, cycle report, reverse order, and the one
//! concurrent walk that runs a node as soon as the nodes it depends on are done. No AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use tokio::sync::watch;

/// What a walk is told from outside while it runs (Ctrl-C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Keep going.
    Run,
    /// Start nothing new; let the nodes in flight finish.
    Finish,
    /// Abandon the nodes in flight too.
    Abandon,
}

/// How a walk ended.
#[derive(Debug)]
pub struct Walked<E> {
    /// Finished, in the order they finished.
    pub done: Vec<String>,
    /// Failed, with their errors: the root causes.
    pub failed: Vec<(String, E)>,
    /// Not attempted, each with the failed node it waited on.
    pub skipped: Vec<(String, String)>,
    /// Never started because the walk was stopped.
    pub not_started: Vec<String>,
    /// Stopped with `Stop::Abandon` while nodes were in flight.
    pub abandoned: bool,
}

#[derive(Debug, Default, Clone)]
pub struct Graph {
    /// node -> the nodes it depends on
    deps: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("`{from}` depends on `{to}`, which is not defined")]
    Missing { from: String, to: String },
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, node: &str) {
        self.deps.entry(node.to_string()).or_default();
    }

    /// `node` needs `dep` to exist first.
    pub fn add_edge(&mut self, node: &str, dep: &str) {
        self.add_node(dep);
        self.deps
            .entry(node.to_string())
            .or_default()
            .insert(dep.to_string());
    }

    pub fn nodes(&self) -> impl Iterator<Item = &String> {
        self.deps.keys()
    }

    pub fn deps_of(&self, node: &str) -> impl Iterator<Item = &String> {
        self.deps.get(node).into_iter().flatten()
    }

    /// Nodes that depend directly on `node`.
    pub fn dependents_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.deps
            .iter()
            .filter(move |(_, d)| d.contains(node))
            .map(|(n, _)| n)
    }

    /// Every node that depends on `node`, directly or not.
    pub fn all_dependents(&self, node: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![node.to_string()];
        while let Some(n) = todo.pop() {
            for d in self.dependents_of(&n) {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    }

    /// Layers in creation order: each layer depends only on earlier ones.
    pub fn layers(&self) -> Result<Vec<Vec<String>>, GraphError> {
        let mut remaining: BTreeMap<&String, BTreeSet<&String>> = self
            .deps
            .iter()
            .map(|(n, d)| (n, d.iter().collect()))
            .collect();
        let mut layers = Vec::new();
        while !remaining.is_empty() {
            let ready: Vec<String> = remaining
                .iter()
                .filter(|(_, d)| d.is_empty())
                .map(|(n, _)| (*n).clone())
                .collect();
            if ready.is_empty() {
                return Err(GraphError::Cycle(self.find_cycle()));
            }
            for n in &ready {
                remaining.remove(n);
            }
            for d in remaining.values_mut() {
                d.retain(|x| !ready.contains(x));
            }
            layers.push(ready);
        }
        Ok(layers)
    }

    /// Creation order, flattened.
    pub fn order(&self) -> Result<Vec<String>, GraphError> {
        Ok(self.layers()?.into_iter().flatten().collect())
    }

    /// Deletion order: dependents before what they depend on.
    pub fn reverse_order(&self) -> Result<Vec<String>, GraphError> {
        let mut order = self.order()?;
        order.reverse();
        Ok(order)
    }

    /// Runs `run(node)` for every node, at most `limit` at once, each as soon as every node it
    /// depends on is done. The dependents of a failure are skipped, not run, so only the
    /// root cause is an error. A cycle is refused before anything runs.
    pub async fn walk<E, F, Fut>(
        &self,
        limit: usize,
        mut stop: watch::Receiver<Stop>,
        mut run: F,
    ) -> Result<Walked<E>, GraphError>
    where
        E: Send + 'static,
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.layers()?;
        let mut waits = self.deps.clone();
        let mut out = Walked {
            done: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            not_started: Vec::new(),
            abandoned: false,
        };
        // node -> the failure it is (or descends from), for skipping and reporting.
        let mut dead: BTreeMap<String, String> = BTreeMap::new();
        let mut finished: BTreeSet<String> = BTreeSet::new();
        let mut running = tokio::task::JoinSet::new();
        let mut in_flight = 0usize;
        let mut stop_open = true;
        loop {
            // Skip, transitively, whatever waits on a failure.
            loop {
                let newly: Vec<(String, String)> = waits
                    .iter()
                    .filter_map(|(n, w)| {
                        w.iter()
                            .find_map(|d| dead.get(d))
                            .map(|r| (n.clone(), r.clone()))
                    })
                    .collect();
                if newly.is_empty() {
                    break;
                }
                for (n, root) in newly {
                    waits.remove(&n);
                    dead.insert(n.clone(), root.clone());
                    out.skipped.push((n, root));
                }
            }
            if *stop.borrow() == Stop::Run {
                let ready: Vec<String> = waits
                    .iter()
                    .filter(|(_, w)| w.iter().all(|d| finished.contains(d)))
                    .map(|(n, _)| n.clone())
                    .take(limit.max(1).saturating_sub(in_flight))
                    .collect();
                for n in ready {
                    waits.remove(&n);
                    in_flight += 1;
                    let fut = run(n.clone());
                    running.spawn(async move { (n, fut.await) });
                }
            }
            if in_flight == 0 {
                break;
            }
            tokio::select! {
                Some(joined) = running.join_next() => {
                    in_flight -= 1;
                    // A node's task can only end by returning: none panics or is aborted here.
                    if let Ok((n, result)) = joined {
                        match result {
                            Ok(()) => {
                                finished.insert(n.clone());
                                out.done.push(n);
                            }
                            Err(e) => {
                                dead.insert(n.clone(), n.clone());
                                out.failed.push((n, e));
                            }
                        }
                    }
                }
                changed = stop.changed(), if stop_open => {
                    stop_open = changed.is_ok();
                    if stop_open && *stop.borrow() == Stop::Abandon {
                        running.abort_all();
                        out.abandoned = true;
                        break;
                    }
                }
            }
        }
        out.not_started = waits.into_keys().collect();
        Ok(out)
    }

    /// The members of one cycle, first member repeated at the end.
    fn find_cycle(&self) -> Vec<String> {
        // Depth-first search with an explicit path; the graph is known to hold a cycle.
        fn visit<'a>(
            g: &'a Graph,
            n: &'a String,
            path: &mut Vec<&'a String>,
            done: &mut BTreeSet<&'a String>,
        ) -> Option<Vec<String>> {
            if let Some(pos) = path.iter().position(|p| *p == n) {
                let mut cycle: Vec<String> = path[pos..].iter().map(|s| (*s).clone()).collect();
                cycle.push(n.clone());
                return Some(cycle);
            }
            if done.contains(n) {
                return None;
            }
            path.push(n);
            for d in g.deps_of(n) {
                if let Some(c) = visit(g, d, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(n);
            None
        }
        let mut done = BTreeSet::new();
        for n in self.deps.keys() {
            if let Some(c) = visit(self, n, &mut Vec::new(), &mut done) {
                return c;
            }
        }
        Vec::new()
    }
}
