//! A small generic DAG: topological layers, cycle report, reverse order, and the one
//! concurrent walk that runs a node as soon as the nodes it depends on are done (or, on an
//! early edge, as soon as they say they have gone far enough). No AWS.

use crate::slot::{self, Slot};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, watch};

/// What a running node calls to say its dependents on early edges may start now: it made
/// what they need (its id is recorded) or let go of what they delete. Said once; saying it
/// again, or finishing, changes nothing more.
#[derive(Debug, Clone)]
pub struct Early {
    node: String,
    tx: Option<mpsc::UnboundedSender<String>>,
}

impl Early {
    /// Tells nobody (a node run outside a walk).
    pub fn none() -> Self {
        Early {
            node: String::new(),
            tx: None,
        }
    }

    pub fn signal(&self) {
        if let Some(tx) = &self.tx {
            // The walk may be over (abandoned): nobody left to tell.
            let _ = tx.send(self.node.clone());
        }
    }
}

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
    /// node -> the deps it may start on once they signal (see `Early`) instead of once
    /// they are done.
    early: BTreeMap<String, BTreeSet<String>>,
    /// node -> the deps it does not wait for at all to start, only to be done (a subset of
    /// `early` whose edges count as met from the start).
    loose: BTreeMap<String, BTreeSet<String>>,
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

    /// `node` needs `dep` only to have gone far enough (its id recorded, or let go of what
    /// `node` deletes): `node` starts on `dep`'s signal. `node` still counts as done only
    /// once `dep` is, so whatever waits for `node` to be done finds `dep` done too.
    pub fn add_early_edge(&mut self, node: &str, dep: &str) {
        self.add_edge(node, dep);
        self.early
            .entry(node.to_string())
            .or_default()
            .insert(dep.to_string());
    }

    /// `node` need not wait for `dep` to start at all, only to be done: what `node` does
    /// later needs `dep` finished, its first calls do not (a service's tasks pull images
    /// through the internet route; CreateService needs no route).
    pub fn add_loose_edge(&mut self, node: &str, dep: &str) {
        self.add_early_edge(node, dep);
        self.loose
            .entry(node.to_string())
            .or_default()
            .insert(dep.to_string());
    }

    fn is_loose(&self, node: &str, dep: &str) -> bool {
        self.loose.get(node).is_some_and(|d| d.contains(dep))
    }

    fn is_early(&self, node: &str, dep: &str) -> bool {
        self.early.get(node).is_some_and(|d| d.contains(dep))
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

    /// Runs `run(node, early)` for every node, at most `limit` at once (not counting those
    /// asleep, see `slot`), each as soon as every node it depends on is done (or, on an
    /// early edge, has signalled). The dependents of a failure are skipped, not run, so
    /// only the root cause is an error. A cycle is refused before anything runs.
    pub async fn walk<E, F, Fut>(
        &self,
        limit: usize,
        mut stop: watch::Receiver<Stop>,
        mut run: F,
    ) -> Result<Walked<E>, GraphError>
    where
        E: Send + 'static,
        F: FnMut(String, Early) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.layers()?;
        let mut w = Walk {
            g: self,
            out: Walked {
                done: Vec::new(),
                failed: Vec::new(),
                skipped: Vec::new(),
                not_started: Vec::new(),
                abandoned: false,
            },
            // Loose edges are met from the start.
            waiting: self
                .deps
                .iter()
                .map(|(n, d)| (n, d.len() - self.loose.get(n).map_or(0, BTreeSet::len)))
                .collect(),
            ready: BTreeSet::new(),
            signalled: HashSet::new(),
            finished: HashMap::new(),
            failed: HashSet::new(),
            complete: HashSet::new(),
        };
        w.ready = w
            .waiting
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| (*n).clone())
            .collect();
        let (tx, mut signals) = mpsc::unbounded_channel::<String>();
        let mut running = tokio::task::JoinSet::new();
        let mut stop_open = true;
        // `limit` shares; a node holds one while it runs, except while it sleeps (see
        // `slot`): a node queued for a rate-limit token does not hold back the others.
        let pool = Arc::new(Semaphore::new(limit.max(1)));
        // A share given back by a sleeping node while nodes were ready, for the next start.
        let mut spare = None;
        loop {
            let go = *stop.borrow() == Stop::Run;
            if !go {
                spare = None;
            }
            while go && !w.ready.is_empty() {
                let Some(permit) = spare
                    .take()
                    .or_else(|| pool.clone().try_acquire_owned().ok())
                else {
                    break;
                };
                if let Some(n) = w.ready.pop_first() {
                    w.waiting.remove(&n);
                    let early = Early {
                        node: n.clone(),
                        tx: Some(tx.clone()),
                    };
                    let fut = slot::scope(Slot::new(pool.clone(), permit), run(n.clone(), early));
                    running.spawn(async move { (n, fut.await) });
                }
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Ok(permit) = pool.clone().acquire_owned(), if go && !w.ready.is_empty() => {
                    spare = Some(permit);
                }
                Some(joined) = running.join_next() => {
                    // A node's task can only end by returning: none panics or is aborted here.
                    if let Ok((n, result)) = joined {
                        match result {
                            Ok(()) => w.finished(n),
                            Err(e) => w.failed(n, e),
                        }
                    }
                }
                Some(n) = signals.recv() => w.signal(&n),
                changed = stop.changed(), if stop_open => {
                    stop_open = changed.is_ok();
                    if stop_open && *stop.borrow() == Stop::Abandon {
                        running.abort_all();
                        w.out.abandoned = true;
                        break;
                    }
                }
            }
        }
        // Finished, but an early dependency of theirs failed or never finished: their own
        // work is done all the same.
        let mut left: Vec<String> = w.finished.into_keys().collect();
        left.sort();
        w.out.done.extend(left);
        w.out.not_started = w.waiting.into_keys().cloned().collect();
        Ok(w.out)
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

/// The bookkeeping of one walk.
struct Walk<'g, E> {
    g: &'g Graph,
    out: Walked<E>,
    /// Not started: how many of its edges each node still waits on.
    waiting: BTreeMap<&'g String, usize>,
    /// Started nothing is waiting on, in name order.
    ready: BTreeSet<String>,
    /// Signalled (or finished): its early edges are met.
    signalled: HashSet<String>,
    /// Finished, not yet done: how many of its early dependencies are not done yet.
    finished: HashMap<String, usize>,
    failed: HashSet<String>,
    /// Done (the same as `out.done`, to look up).
    complete: HashSet<String>,
}

impl<E> Walk<'_, E> {
    /// One edge of `d` is met.
    fn meet(&mut self, d: &String) {
        if let Some(c) = self.waiting.get_mut(d) {
            *c -= 1;
            if *c == 0 {
                self.ready.insert(d.clone());
            }
        }
    }

    fn signal(&mut self, n: &str) {
        if self.failed.contains(n) || !self.signalled.insert(n.to_string()) {
            return;
        }
        let g = self.g;
        for d in g.dependents_of(n) {
            if g.is_early(d, n) && !g.is_loose(d, n) {
                self.meet(d);
            }
        }
    }

    fn finished(&mut self, n: String) {
        self.signal(&n);
        let g = self.g;
        let open = g
            .early
            .get(&n)
            .into_iter()
            .flatten()
            .filter(|d| !self.complete.contains(*d))
            .count();
        self.finished.insert(n.clone(), open);
        if open == 0 {
            self.done(n);
        }
    }

    /// `n` and its early deps are done: whatever waits for `n` to be done may go, and what
    /// finished early on `n` may be done now too.
    fn done(&mut self, n: String) {
        let g = self.g;
        let mut todo = vec![n];
        while let Some(n) = todo.pop() {
            self.finished.remove(&n);
            for d in g.dependents_of(&n) {
                if !g.is_early(d, &n) {
                    self.meet(d);
                } else if let Some(open) = self.finished.get_mut(d) {
                    *open -= 1;
                    if *open == 0 {
                        todo.push(d.clone());
                    }
                }
            }
            self.complete.insert(n.clone());
            self.out.done.push(n);
        }
    }

    /// Skips, transitively, whatever has not started and depends on `n`: level by level,
    /// each level in name order. Nodes already running on an early edge finish, but are
    /// not done until the end, so nothing after them starts.
    fn failed(&mut self, n: String, e: E) {
        self.failed.insert(n.clone());
        let g = self.g;
        let mut seen = HashSet::new();
        let mut level: BTreeSet<&String> = g.dependents_of(&n).collect();
        while !level.is_empty() {
            let mut next = BTreeSet::new();
            for d in level {
                if !seen.insert(d) {
                    continue;
                }
                if self.waiting.remove(d).is_some() {
                    self.ready.remove(d);
                    self.out.skipped.push((d.clone(), n.clone()));
                }
                next.extend(g.dependents_of(d));
            }
            level = next;
        }
        self.out.failed.push((n, e));
    }
}
