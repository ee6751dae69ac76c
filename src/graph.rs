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
    /// node -> the nodes that depend on it: the same edges, kept so that nothing scans
    /// every node to find a node's dependents (which made large stacks quadratic).
    dependents: BTreeMap<String, BTreeSet<String>>,
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
        if !self.deps.contains_key(node) {
            self.deps.insert(node.to_string(), BTreeSet::new());
            self.dependents.insert(node.to_string(), BTreeSet::new());
        }
    }

    /// `node` needs `dep` to exist first.
    pub fn add_edge(&mut self, node: &str, dep: &str) {
        self.add_node(dep);
        self.add_node(node);
        if let Some(d) = self.deps.get_mut(node) {
            d.insert(dep.to_string());
        }
        if let Some(d) = self.dependents.get_mut(dep) {
            d.insert(node.to_string());
        }
    }

    pub fn nodes(&self) -> impl Iterator<Item = &String> {
        self.deps.keys()
    }

    pub fn deps_of(&self, node: &str) -> impl Iterator<Item = &String> {
        self.deps.get(node).into_iter().flatten()
    }

    /// Nodes that depend directly on `node`.
    pub fn dependents_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.dependents.get(node).into_iter().flatten()
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
        // Kahn's algorithm by layers: each node is counted down once per edge.
        let mut waiting: BTreeMap<&String, usize> =
            self.deps.iter().map(|(n, d)| (n, d.len())).collect();
        let mut ready: Vec<String> = waiting
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| (*n).clone())
            .collect();
        let mut placed = 0;
        let mut layers = Vec::new();
        while !ready.is_empty() {
            let mut next = BTreeSet::new();
            for n in &ready {
                for d in self.dependents_of(n) {
                    if let Some(c) = waiting.get_mut(d) {
                        *c -= 1;
                        if *c == 0 {
                            next.insert(d.clone());
                        }
                    }
                }
            }
            placed += ready.len();
            layers.push(std::mem::replace(&mut ready, next.into_iter().collect()));
        }
        if placed < self.deps.len() {
            return Err(GraphError::Cycle(self.find_cycle()));
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
        let mut out = Walked {
            done: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            not_started: Vec::new(),
            abandoned: false,
        };
        // How many of its dependencies each node still waits for; ready ones in name order.
        let mut waiting: BTreeMap<&String, usize> =
            self.deps.iter().map(|(n, d)| (n, d.len())).collect();
        let mut ready: BTreeSet<String> = waiting
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| (*n).clone())
            .collect();
        let mut running = tokio::task::JoinSet::new();
        let mut in_flight = 0usize;
        let mut stop_open = true;
        loop {
            if *stop.borrow() == Stop::Run {
                while in_flight < limit.max(1) {
                    let Some(n) = ready.pop_first() else { break };
                    waiting.remove(&n);
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
                                for d in self.dependents_of(&n) {
                                    if let Some(c) = waiting.get_mut(d) {
                                        *c -= 1;
                                        if *c == 0 {
                                            ready.insert(d.clone());
                                        }
                                    }
                                }
                                out.done.push(n);
                            }
                            Err(e) => {
                                // Skip, transitively, whatever waits on it: level by level,
                                // each level in name order.
                                let mut level: BTreeSet<String> = self
                                    .dependents_of(&n)
                                    .filter(|d| waiting.contains_key(d))
                                    .cloned()
                                    .collect();
                                while !level.is_empty() {
                                    let mut next = BTreeSet::new();
                                    for d in level {
                                        if waiting.remove(&d).is_none() {
                                            continue;
                                        }
                                        ready.remove(&d);
                                        next.extend(
                                            self.dependents_of(&d)
                                                .filter(|x| waiting.contains_key(x))
                                                .cloned(),
                                        );
                                        out.skipped.push((d, n.clone()));
                                    }
                                    level = next;
                                }
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
        out.not_started = waiting.into_keys().cloned().collect();
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
