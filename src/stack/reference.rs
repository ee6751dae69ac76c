//! `${databases.wpdb.endpoint}` inside strings: values known only after apply. Each one
//! becomes a reference, and so an edge of the graph. `$$` writes a literal `$`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    Ref {
        scope: String,
        name: String,
        attr: String,
    },
}

/// What each database offers to references.
pub const DATABASE_ATTRS: &[&str] = &[
    "endpoint",
    "port",
    "username",
    "db_name",
    "password_secret",
    "arn",
];

pub fn parse(s: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(more) = after.strip_prefix('$') {
            lit.push('$');
            rest = more;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("`${{` without a closing `}}` in `{s}`"))?;
            let path: Vec<&str> = body[..end].trim().split('.').collect();
            let [scope, name, attr] = path[..] else {
                return Err(format!(
                    "`${{{}}}` is not a reference; write `${{databases.<name>.<attribute>}}`",
                    &body[..end]
                ));
            };
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Ref {
                scope: scope.into(),
                name: name.into(),
                attr: attr.into(),
            });
            rest = &body[end + 1..];
        } else {
            lit.push('$');
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}
