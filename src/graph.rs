//! A small generic DAG: topological layers, cycle report, reverse order. No AWS, no I/O.

use std::collections::{BTreeMap, BTreeSet};

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
