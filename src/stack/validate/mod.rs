//! Checks of meaning that the YAML shape cannot express. Every problem found is reported,
//! each with its location and a hint; nothing here talks to AWS.

mod compute;
mod network;
mod service;

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
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        v.push(
            Problem::at(&file.stack.referenced, format!("`{name}` is not a usable stack name"))
                .hint("use 1 to 32 letters, digits and hyphens, starting with a letter, e.g. `stack: hello-httpd`; it prefixes the names of what the stack creates"),
        );
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
