//! What the user wrote: loading the stack file, checking it, expanding it into resources.

pub mod error;
pub mod expand;
pub mod fargate;
pub mod model;
pub mod overrides;
pub mod reference;
pub mod validate;

pub use error::{Problem, StackError};

use crate::desired::Resource;
use crate::graph::{Graph, GraphError};
use std::path::{Path, PathBuf};

/// A stack file that passed every check, expanded into the resources it wants.
#[derive(Debug)]
pub struct Stack {
    pub path: PathBuf,
    pub name: String,
    pub tags: Vec<(String, String)>,
    /// Where the file says the state is kept, if it does.
    pub state: Option<String>,
    pub resources: Vec<Resource>,
    pub graph: Graph,
}

pub fn load(path: &Path) -> Result<Stack, StackError> {
    load_with(path, &[])
}

/// Loads the stack file with `--set` overrides, resolving `${env:…}` from the environment.
pub fn load_with(path: &Path, sets: &[overrides::Set]) -> Result<Stack, StackError> {
    let text = std::fs::read_to_string(path).map_err(|source| StackError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_with(path, &text, sets, &|name| std::env::var(name).ok())
}

pub fn parse(path: &Path, text: &str) -> Result<Stack, StackError> {
    parse_with(path, text, &[], &|name| std::env::var(name).ok())
}

/// Parses `text` with `sets` applied and `${env:…}` resolved by `env`, then checks it.
pub fn parse_with(
    path: &Path,
    original: &str,
    sets: &[overrides::Set],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Stack, StackError> {
    let invalid = |problems| StackError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let over = overrides::apply(original, sets, env).map_err(invalid)?;
    let text = over.text.as_str();
    let located = |ps: Vec<Problem>| -> Vec<Problem> {
        ps.into_iter()
            .map(|p| over.locate(text, original, p))
            .collect()
    };
    let file: model::StackFile =
        serde_saphyr::from_str(text).map_err(|e| invalid(located(vec![yaml_problem(&e)])))?;
    let problems = validate::validate(&file);
    if !problems.is_empty() {
        return Err(invalid(located(problems)));
    }
    let expanded = expand::expand(&file);
    let graph = graph_of(&expanded.resources).map_err(|e| {
        let at = match &e {
            GraphError::Cycle(members) => members.iter().find_map(|m| expanded.origins.get(m)),
            GraphError::Missing { from, .. } => expanded.origins.get(from),
        };
        let mut p = Problem {
            line: at.map_or(0, |l| l.line()),
            col: at.map_or(0, |l| l.column()),
            message: e.to_string(),
            hint: None,
        };
        if matches!(e, GraphError::Cycle(_)) {
            p = p.hint("security groups that admit each other cannot be created one after the other; admit a CIDR range in one of them, or put both services in one group that admits itself (`from: <its own name>`)");
        }
        invalid(vec![p])
    })?;
    Ok(Stack {
        path: path.to_path_buf(),
        name: file.stack.value.clone(),
        tags: file
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        state: file.state.as_ref().map(|s| s.value.clone()),
        resources: expanded.resources,
        graph,
    })
}

/// The dependency graph of the resources, from their references.
pub fn graph_of(resources: &[Resource]) -> Result<Graph, GraphError> {
    let mut g = Graph::new();
    for r in resources {
        g.add_node(&r.id);
    }
    for r in resources {
        for d in r.deps() {
            if !resources.iter().any(|x| x.id == d) {
                return Err(GraphError::Missing {
                    from: r.id.clone(),
                    to: d,
                });
            }
            g.add_edge(&r.id, &d);
        }
    }
    g.layers()?;
    Ok(g)
}

fn yaml_problem(e: &serde_saphyr::Error) -> Problem {
    let loc = e.location();
    let message = first_line(&e.without_snippet().to_string());
    // The location is given once, in front, as file:line:col.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let hint = if message.contains("unknown field") {
        "check the spelling; every field is listed in the README under \"The stack file\""
    } else if message.contains("missing field") {
        "add the field; the README's \"The stack file\" section shows an example"
    } else if message.to_lowercase().contains("duplicate") {
        "each name may appear once in a mapping; rename or remove the second one"
    } else {
        "check the YAML at this place against the README's \"The stack file\" section"
    };
    Problem {
        line: loc.map_or(0, |l| l.line()),
        col: loc.map_or(0, |l| l.column()),
        message,
        hint: Some(hint.to_string()),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string()
}
