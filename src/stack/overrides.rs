//! What a pipeline changes without editing the file: `--set PATH=VALUE` sets a scalar by
//! its dotted path, and `${env:NAME}` / `${env:NAME:-default}` in a string take the
//! environment's value. Both are applied to the YAML text before it is parsed, at the
//! exact byte range of the scalar, so the file is then checked as usual; a problem in a
//! value that came from `--set` names that argument instead of a line.

use super::error::Problem;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One `--set PATH=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub path: Vec<String>,
    pub value: String,
    /// As given, for messages.
    pub arg: String,
}

impl std::str::FromStr for Set {
    type Err = String;

    fn from_str(arg: &str) -> Result<Self, Self::Err> {
        let (path, value) = arg.split_once('=').ok_or_else(|| {
            format!("`{arg}` is not PATH=VALUE; write it like services.web.containers.web.image=httpd:2.4")
        })?;
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if path.iter().any(|p| p.trim().is_empty()) {
            return Err(format!(
                "`{arg}`: the path has an empty part; write it like services.web.desired_count=2"
            ));
        }
        Ok(Set {
            path,
            value: value.to_string(),
            arg: arg.to_string(),
        })
    }
}

/// The YAML tree with where each node is, enough to find a scalar's bytes.
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar(Option<String>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(Some(v.to_string())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Node, D2::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = a.next_element()? {
                    items.push(v);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Spanned<Node>>()? {
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// One change to the text: the bytes `at..at+len` become `text`.
#[derive(Debug, Clone)]
struct Edit {
    at: usize,
    len: usize,
    text: String,
    /// The `--set` argument it comes from, if any.
    arg: Option<String>,
}

/// The text with every `--set` and `${env:…}` applied, and a map back from positions in
/// it to the original, for messages.
pub struct Overridden {
    pub text: String,
    edits: Vec<Edit>,
}

/// Applies `sets`, then resolves `${env:…}` with `env`.
pub fn apply(
    text: &str,
    sets: &[Set],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Overridden, Vec<Problem>> {
    if sets.is_empty() && !text.contains("${env:") {
        return Ok(Overridden {
            text: text.to_string(),
            edits: Vec::new(),
        });
    }
    // A file that is not valid YAML is reported by the normal parse, with its position.
    let Ok(root) = serde_saphyr::from_str::<Spanned<Node>>(text) else {
        return Ok(Overridden {
            text: text.to_string(),
            edits: Vec::new(),
        });
    };
    let mut edits = Vec::new();
    let mut problems = Vec::new();
    for s in sets {
        match edit_for(text, &root, s) {
            Ok(e) => edits.push(e),
            Err(p) => problems.push(p),
        }
    }
    env_edits(text, &root, env, &edits.clone(), &mut edits, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    edits.sort_by_key(|e| e.at);
    let mut out = text.to_string();
    for e in edits.iter().rev() {
        out.replace_range(e.at..e.at + e.len, &e.text);
    }
    Ok(Overridden { text: out, edits })
}

impl Overridden {
    /// `p` as it applies to the original file: a position in a value that came from
    /// `--set` names the argument; any other is moved back to where it is in the file.
    pub fn locate(&self, text_after: &str, original: &str, mut p: Problem) -> Problem {
        if self.edits.is_empty() || p.line == 0 {
            return p;
        }
        let Some(pos) = offset_of(text_after, p.line, p.col) else {
            return p;
        };
        // Edits are in file order; `shift` is how far the text after them has moved.
        let mut shift: isize = 0;
        let mut at = None;
        for e in &self.edits {
            let start = (e.at as isize + shift) as usize;
            let end = start + e.text.len();
            if pos < start {
                break;
            }
            if pos < end {
                if let Some(arg) = &e.arg {
                    p.message = format!("--set {arg}: {}", p.message);
                    p.line = 0;
                    p.col = 0;
                    return p;
                }
                at = Some(e.at);
                break;
            }
            shift += e.text.len() as isize - e.len as isize;
        }
        let at = at.unwrap_or_else(|| (pos as isize - shift).max(0) as usize);
        let (line, col) = line_col(original, at);
        p.line = line;
        p.col = col;
        p
    }
}

fn offset_of(text: &str, line: u64, col: u64) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(usize::try_from(line).ok()?.checked_sub(1)?)
        .map(str::len)
        .sum();
    let line_text = text[start..].split('\n').next()?;
    let chars = usize::try_from(col.saturating_sub(1)).ok()?;
    Some(
        start
            + line_text
                .chars()
                .take(chars)
                .map(char::len_utf8)
                .sum::<usize>(),
    )
}

fn line_col(text: &str, at: usize) -> (u64, u64) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

/// The byte range of a node in the text, when the parser gave one.
fn range(n: &Spanned<Node>) -> Option<(usize, usize)> {
    let span = n.referenced.span();
    let at = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some((at, len))
}

fn edit_for(text: &str, root: &Spanned<Node>, s: &Set) -> Result<Edit, Problem> {
    let fail = |msg: String| {
        Problem {
        line: 0,
        col: 0,
        message: format!("--set {}: {msg}", s.arg),
        hint: Some(
            "the path follows the stack file's keys, with list items by number: services.web.containers.web.ports.0"
                .into(),
        ),
    }
    };
    let mut node = root;
    for (depth, key) in s.path.iter().enumerate() {
        let here = s.path[..depth].join(".");
        let last = depth + 1 == s.path.len();
        match &node.value {
            Node::Map(entries) => match entries.iter().find(|(k, _)| k == key) {
                Some((_, child)) => node = child,
                None if last => {
                    return insert(text, node, key, s).ok_or_else(|| {
                        fail(format!(
                            "cannot add `{key}` here; write it in the file once"
                        ))
                    });
                }
                None => {
                    return Err(fail(format!(
                        "`{}` has no `{key}`",
                        if here.is_empty() { "the file" } else { &here }
                    )));
                }
            },
            Node::Seq(items) => {
                let i: usize = key.parse().map_err(|_| {
                    fail(format!(
                        "`{here}` is a list: use an item's number, not `{key}`"
                    ))
                })?;
                node = items.get(i).ok_or_else(|| {
                    fail(format!(
                        "`{here}` has {} items; there is no item {i}",
                        items.len()
                    ))
                })?;
            }
            Node::Scalar(_) => {
                return Err(fail(format!(
                    "`{here}` is a single value; it has no `{key}`"
                )));
            }
        }
    }
    if !matches!(node.value, Node::Scalar(_)) {
        return Err(fail(
            "this is a mapping or a list; --set sets single values only".into(),
        ));
    }
    let (at, len) = range(node).ok_or_else(|| fail("cannot find the value in the file".into()))?;
    Ok(Edit {
        at,
        len,
        text: scalar(&s.value),
        arg: Some(s.arg.clone()),
    })
}

/// A new `key: value` at the start of a mapping that lacks the key.
fn insert(text: &str, map: &Spanned<Node>, key: &str, s: &Set) -> Option<Edit> {
    let Node::Map(entries) = &map.value else {
        return None;
    };
    let (first_key_at, _) = entries.first().and_then(|(_, v)| range(v))?;
    // The first key starts its line (block mapping) or follows `{` (flow mapping).
    let line_start = text[..first_key_at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..first_key_at];
    let indent = line.len() - line.trim_start().len();
    let at = line_start + indent;
    let rest = &text[at..];
    if let Some(after_brace) = rest.strip_prefix('{') {
        let pad = after_brace.len() - after_brace.trim_start().len();
        return Some(Edit {
            at: at + 1 + pad,
            len: 0,
            text: format!("{key}: {}, ", scalar(&s.value)),
            arg: Some(s.arg.clone()),
        });
    }
    if !rest.starts_with(entries.first()?.0.as_str()) {
        return None;
    }
    Some(Edit {
        at,
        len: 0,
        text: format!("{key}: {}\n{}", scalar(&s.value), " ".repeat(indent)),
        arg: Some(s.arg.clone()),
    })
}

/// `${env:NAME}` and `${env:NAME:-default}` in string values, resolved; other `${…}`
/// (references to databases) are left for expansion.
fn env_edits(
    text: &str,
    node: &Spanned<Node>,
    env: &dyn Fn(&str) -> Option<String>,
    taken: &[Edit],
    edits: &mut Vec<Edit>,
    problems: &mut Vec<Problem>,
) {
    match &node.value {
        Node::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| env_edits(text, v, env, taken, edits, problems)),
        Node::Seq(items) => items
            .iter()
            .for_each(|v| env_edits(text, v, env, taken, edits, problems)),
        Node::Scalar(Some(s)) if s.contains("${env:") => {
            let Some((at, len)) = range(node) else {
                return;
            };
            // A value that --set replaced is not read from the file.
            if taken.iter().any(|e| e.at == at) {
                return;
            }
            match resolve_env(s, env) {
                Ok(v) => edits.push(Edit {
                    at,
                    len,
                    text: scalar(&v),
                    arg: None,
                }),
                Err(msg) => {
                    let (line, col) = line_col(text, at);
                    problems.push(Problem {
                        line,
                        col,
                        message: msg,
                        hint: Some(
                            "set the variable, or give a default: ${env:NAME:-default}".into(),
                        ),
                    });
                }
            }
        }
        Node::Scalar(_) => {}
    }
}

fn resolve_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${env:") {
        out.push_str(&rest[..i]);
        let body = &rest[i + 6..];
        let end = body
            .find('}')
            .ok_or_else(|| format!("`{}` has no closing `}}`", &rest[i..]))?;
        let inner = &body[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`${{env:{inner}}}`: `{name}` is not an environment variable name"
            ));
        }
        match (env(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "the environment variable {name} is not set (`${{env:{name}}}`)"
                ));
            }
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A value as YAML: plain when YAML would read it back as the same text or number,
/// double-quoted otherwise.
fn scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:+-@".contains(c))
        && !v.starts_with(['-', ':', '@'])
        && !v.ends_with(':');
    if plain {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
