//! Plans for people (a diff-like listing) and for machines (JSON).

use super::action::Action;
use super::build::{Plan, summary};
use crate::resources::kind::Change;
use serde_json::Value as Json;
use std::fmt::Write;

pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, action: Action, s: &str) -> String {
        if !self.color {
            return s.to_string();
        }
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
            Action::Read | Action::NoOp => "2",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }
}

pub fn human(plan: &Plan, style: &Style) -> String {
    let mut out = String::new();
    let width = plan.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for step in plan.steps.iter().filter(|s| s.action == Action::Read) {
        if let Some(used) = used_lookup(plan, &step.id, step.kind) {
            let line = format!(
                "{:>3} {:<width$}  {used}",
                step.action.symbol(),
                step.id,
                width = width
            );
            let _ = writeln!(out, "{}", style.paint(step.action, &line));
        }
    }
    for step in plan.steps.iter().filter(|s| s.action != Action::Read) {
        if step.action == Action::NoOp {
            continue;
        }
        let note = match step.action {
            Action::Update => step.kind.plan_note(Change::Update, None),
            _ => None,
        };
        let what = match note {
            Some(n) => format!("{} ({n})", step.kind.label()),
            None => step.kind.label().to_string(),
        };
        let line = format!(
            "{:>3} {:<width$}  {}",
            step.action.symbol(),
            step.id,
            what,
            width = width
        );
        let _ = writeln!(out, "{}", style.paint(step.action, &line));
        if let Some(r) = &step.reason {
            let _ = writeln!(out, "        note: {r}");
        }
        for c in &step.changes {
            let new = c
                .new
                .as_ref()
                .map_or("(known after apply)".to_string(), compact);
            match (&c.old, step.action) {
                (_, Action::Create) | (None, _) => {
                    let _ = writeln!(out, "        {}: {new}", c.path);
                }
                (Some(old), _) => {
                    let _ = writeln!(out, "        {}: {} -> {new}", c.path, compact(old));
                }
            }
        }
    }
    let unchanged = plan
        .steps
        .iter()
        .filter(|s| s.action == Action::NoOp)
        .count();
    let s = summary(plan);
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "\nPlan for stack {}: {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
            plan.stack, s["create"], s["update"], s["replace"], s["delete"], unchanged
        );
    } else {
        let _ = writeln!(
            out,
            "No changes: stack {} matches its file ({} resources up to date).",
            plan.stack, unchanged
        );
    }
    out
}

/// How a looked-up resource is used, for the ones a reader should know about.
fn used_lookup(plan: &Plan, id: &str, kind: crate::desired::Kind) -> Option<String> {
    kind.used_note(plan.lookups.get(id)?)
}

fn compact(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("plan serializes")
}
