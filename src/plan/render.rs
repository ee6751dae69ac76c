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
            Action::Replace => step.kind.plan_note(Change::Replace, None),
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
            match (&c.old, &c.new) {
                (_, None) => {
                    let _ = writeln!(out, "        {}: {UNKNOWN}", c.path);
                }
                (Some(old), Some(new)) if step.action != Action::Create && shown(old) => {
                    if is_scalar(old) && is_scalar(new) {
                        let _ = writeln!(
                            out,
                            "        {}: {} -> {}",
                            c.path,
                            compact(old),
                            compact(new)
                        );
                    } else {
                        field(&mut out, 8, &format!("{} (was)", c.path), old);
                        field(&mut out, 8, &format!("{} (now)", c.path), new);
                    }
                }
                (_, Some(new)) => field(&mut out, 8, &c.path, new),
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

use super::build::UNKNOWN;

/// Whether a value says anything: nulls, empty lists and empty maps are left out.
fn shown(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
        _ => true,
    }
}

fn is_scalar(v: &Json) -> bool {
    !matches!(v, Json::Array(_) | Json::Object(_))
}

/// `key: value`, with maps and lists of maps on their own indented lines, like YAML.
fn field(out: &mut String, indent: usize, key: &str, v: &Json) {
    if !shown(v) {
        return;
    }
    let pad = " ".repeat(indent);
    match v {
        Json::Object(m) => {
            let _ = writeln!(out, "{pad}{key}:");
            for (k, v) in named_first(m) {
                field(out, indent + 2, k, v);
            }
        }
        Json::String(text) if text.contains('\n') => {
            // Multi-line text (user data) as a YAML block, each line under the key.
            let _ = writeln!(out, "{pad}{key}: |");
            for line in text.lines() {
                let _ = writeln!(out, "{pad}  {line}");
            }
        }
        Json::Array(items) if items.iter().all(is_scalar) => {
            let list: Vec<String> = items.iter().map(compact).collect();
            let _ = writeln!(out, "{pad}{key}: [{}]", list.join(", "));
        }
        Json::Array(items) => {
            let _ = writeln!(out, "{pad}{key}:");
            for item in items.iter().filter(|i| shown(i)) {
                item_block(out, indent + 2, item);
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{key}: {}", compact(scalar));
        }
    }
}

/// One element of a list: `- ` before its first line, its other fields aligned under it.
fn item_block(out: &mut String, indent: usize, item: &Json) {
    let pad = " ".repeat(indent);
    match item {
        Json::Object(m) => {
            let mut block = String::new();
            for (k, v) in named_first(m) {
                field(&mut block, indent + 2, k, v);
            }
            // The first line takes the dash in place of its indentation.
            let first = indent + 2;
            let block = block.replacen(&" ".repeat(first), &format!("{pad}- "), 1);
            out.push_str(&block);
        }
        other => {
            let _ = writeln!(out, "{pad}- {}", compact(other));
        }
    }
}

/// A map's entries with `name` first: it says which item of a list this is.
fn named_first(m: &serde_json::Map<String, Json>) -> impl Iterator<Item = (&String, &Json)> {
    let name = m.iter().filter(|(k, _)| *k == "name");
    name.chain(m.iter().filter(|(k, _)| *k != "name"))
}

fn compact(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The plan for a CI job summary or a pull request: the counts, a table of the changes,
/// and the full plan in a folded diff block.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let s = summary(plan);
    let unchanged = plan.count(Action::NoOp);
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "### provision: no changes to stack `{}`\n\n{unchanged} resources match the stack file.",
            plan.stack
        );
        return out;
    }
    let _ = writeln!(
        out,
        "### provision: plan for stack `{}`\n\n**{} to create, {} to update, {} to replace, {} to delete**, {unchanged} unchanged.\n",
        plan.stack, s["create"], s["update"], s["replace"], s["delete"]
    );
    let _ = writeln!(
        out,
        "| | resource | kind | note |\n| --- | --- | --- | --- |"
    );
    for step in plan.steps.iter().filter(|s| s.action.is_change()) {
        let note = step.reason.clone().unwrap_or_default().replace('|', "\\|");
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {note} |",
            step.action.symbol().trim(),
            step.id,
            step.kind.label()
        );
    }
    let _ = writeln!(
        out,
        "\n<details><summary>The whole plan</summary>\n\n```diff\n{}```\n\n</details>",
        human(plan, &Style { color: false })
            .lines()
            .map(|l| {
                // diff colours a line by its first character: only the steps' own lines.
                let head = l.get(..4).map(str::trim).unwrap_or_default();
                match head {
                    "+" => format!("+{}\n", &l[3..]),
                    "-" => format!("-{}\n", &l[3..]),
                    "~" | "-/+" => format!("!{}\n", &l[3..]),
                    _ => format!(" {l}\n"),
                }
            })
            .collect::<String>()
    );
    out
}
