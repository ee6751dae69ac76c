//! Checks of meaning that the YAML shape cannot express. Every problem found is reported,
//! each with its location and a hint; nothing here talks to AWS.

mod compute;
mod network;
mod service;
mod web;

use super::error::Problem;
use super::model::*;
use serde_saphyr::Location;

pub use network::parse_cidr;

/// What the checks of one section need to know of the others.
pub(crate) struct Scope<'a> {
    pub file: &'a StackFile,
    pub own_vpc: bool,
    pub subnet_names: Vec<String>,
}

pub fn validate(file: &StackFile) -> Vec<Problem> {
    let mut v = Vec::new();
    check_stack_name(file, &mut v);
    let own_vpc = network::check_network(file, &mut v);
    let scope = Scope {
        file,
        own_vpc,
        subnet_names: network::subnet_names(file),
    };
    network::check_security_groups(file, &mut v);
    web::check_load_balancer(file, &mut v);
    check_tags(file, &mut v);
    if let Some(s) = &file.state {
        let ok = match s.value.strip_prefix("s3://") {
            Some(rest) => rest
                .split_once('/')
                .is_some_and(|(bucket, key)| !bucket.is_empty() && !key.is_empty()),
            None => !s.value.trim().is_empty() && !s.value.contains("://"),
        };
        if !ok {
            v.push(
                Problem::at(&s.referenced, format!("`{}` is not a place for the state", s.value))
                    .hint("write s3://BUCKET/KEY (for example s3://my-team-state/web/prod.json), or a file path"),
            );
        }
    }
    if let Some(c) = &file.cluster {
        check_name(&c.value, &c.referenced, "cluster", 255, &mut v);
    }
    if let Some(inst) = &file.instances {
        compute::check_instances(inst, &scope, &mut v);
    }
    for (name, db) in &file.databases {
        compute::check_database(name, db, &scope, &mut v);
    }
    for (name, svc) in &file.services {
        service::check_service(name, svc, &scope, &mut v);
    }
    v.sort_by_key(|p| (p.line, p.col));
    v
}

fn check_stack_name(file: &StackFile, v: &mut Vec<Problem>) {
    let name = &file.stack.value;
    // RDS identifiers, which start with the stack's name, allow no `--` and no hyphen at the end.
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.contains("--")
        && !name.ends_with('-');
    if !ok {
        v.push(
            Problem::at(&file.stack.referenced, format!("`{name}` is not a usable stack name"))
                .hint("use 1 to 32 letters, digits and single hyphens, starting with a letter and not ending with a hyphen, e.g. `stack: hello-httpd`; it prefixes the names of what the stack creates"),
        );
    }
    // Security groups are named `<stack>-<name>`, and EC2 refuses names that start with `sg-`.
    let lower = name.to_ascii_lowercase();
    if (lower == "sg" || lower.starts_with("sg-")) && !file.security_groups.is_empty() {
        v.push(
            Problem::at(
                &file.stack.referenced,
                format!("the security groups would be named `{name}-…`, and EC2 refuses group names that start with `sg-`"),
            )
            .hint("give the stack another name"),
        );
    }
}

/// Tags as every service the stack uses accepts them (EC2, ECS, IAM, RDS, Auto Scaling).
fn check_tags(file: &StackFile, v: &mut Vec<Problem>) {
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
    };
    for (key, value) in &file.tags {
        let at = &value.referenced;
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("aws:") || value.value.to_ascii_lowercase().starts_with("aws:") {
            v.push(
                Problem::at(
                    at,
                    format!("the tag `{key}` uses the `aws:` prefix, which AWS keeps for itself"),
                )
                .hint("choose a key and value without `aws:` at the start"),
            );
        } else if lower.starts_with("provision:") {
            v.push(
                Problem::at(at, format!("the tag `{key}` uses the `provision:` prefix, which marks what the stack owns"))
                    .hint("choose another key; provision sets provision:stack and provision:id itself"),
            );
        }
        if key.is_empty() || key.chars().count() > 128 || !allowed(key) {
            v.push(
                Problem::at(
                    at,
                    format!("`{key}` is not a tag key every AWS service accepts"),
                )
                .hint("use 1 to 128 letters, digits, spaces and _ . : / = + - @"),
            );
        }
        if value.value.chars().count() > 256 || !allowed(&value.value) {
            v.push(
                Problem::at(
                    at,
                    format!("the value of tag `{key}` is not one every AWS service accepts"),
                )
                .hint("use up to 256 letters, digits, spaces and _ . : / = + - @"),
            );
        }
    }
}

pub(crate) fn check_name(name: &str, loc: &Location, what: &str, max: usize, v: &mut Vec<Problem>) {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        v.push(
            Problem::at(loc, format!("`{name}` is not a valid {what} name")).hint(format!(
                "use 1 to {max} letters, digits, hyphens and underscores"
            )),
        );
    }
}

pub(crate) fn undefined<'a>(
    what: &str,
    name: &str,
    loc: &Location,
    defined: impl Iterator<Item = &'a String>,
) -> Problem {
    let defined: Vec<&String> = defined.collect();
    let hint = if defined.is_empty() {
        format!("define it first; this stack defines no {what}s")
    } else {
        let list: Vec<String> = defined.iter().map(|d| format!("`{d}`")).collect();
        format!("the defined {what}s are {}", list.join(", "))
    };
    Problem::at(loc, format!("{what} `{name}` is not defined")).hint(hint)
}

pub(crate) fn check_subnets(subnets: &[Located<String>], scope: &Scope, v: &mut Vec<Problem>) {
    for sn in subnets {
        let n = sn.value.as_str();
        let names = &scope.subnet_names;
        let known = n == "public"
            || (n == "private" && names.iter().any(|s| s.starts_with("private-")))
            || names.iter().any(|s| s == n);
        if !known {
            let hint = if scope.own_vpc {
                format!("use `public`, `private` or one of: {}", names.join(", "))
            } else {
                "the default VPC has only its default public subnets: use `public` or leave `subnets` out".to_string()
            };
            v.push(Problem::at(&sn.referenced, format!("subnet `{n}` is not defined")).hint(hint));
        }
    }
}

pub(crate) fn check_groups(groups: &[Located<String>], file: &StackFile, v: &mut Vec<Problem>) {
    for g in groups {
        if !file.security_groups.contains_key(&g.value) {
            v.push(undefined(
                "security group",
                &g.value,
                &g.referenced,
                file.security_groups.keys(),
            ));
        }
    }
}
