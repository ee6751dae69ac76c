//! The network section and the security groups.

use super::{Problem, undefined};
use crate::stack::model::*;

/// Returns whether the stack has a VPC of its own.
pub fn check_network(file: &StackFile, v: &mut Vec<Problem>) -> bool {
    let Some(net) = &file.network else {
        return false;
    };
    match &net.vpc.value {
        VpcChoice::Named(n) if n == "default" => false,
        VpcChoice::Named(n) => {
            v.push(
                Problem::at(&net.vpc.referenced, format!("unknown VPC choice `{n}`"))
                    .hint("write `vpc: default` for the account's default VPC, or `vpc: { cidr: 10.0.0.0/16, public_subnets: 2 }` for one of the stack's own"),
            );
            false
        }
        VpcChoice::Own(own) => {
            match parse_cidr(&own.cidr) {
                Some((_, prefix)) if (16..=24).contains(&prefix) => {}
                Some(_) => v.push(
                    Problem::at(&net.vpc.referenced, format!("VPC range `{}` has the wrong size", own.cidr))
                        .hint("use a prefix from /16 to /24, e.g. 10.0.0.0/16; the stack carves subnets 16 times smaller"),
                ),
                None => v.push(
                    Problem::at(&net.vpc.referenced, format!("`{}` is not an IPv4 CIDR range", own.cidr))
                        .hint("write it as address/prefix, e.g. 10.0.0.0/16"),
                ),
            }
            if own.public_subnets == 0 || own.public_subnets > 8 || own.private_subnets > 8 {
                v.push(
                    Problem::at(&net.vpc.referenced, "a VPC of the stack's own needs 1 to 8 public subnets and at most 8 private ones")
                        .hint("use public_subnets: 2 for two availability zones"),
                );
            }
            true
        }
    }
}

pub fn subnet_names(file: &StackFile) -> Vec<String> {
    match file.network.as_ref().map(|n| &n.vpc.value) {
        Some(VpcChoice::Own(own)) => (1..=own.public_subnets)
            .map(|i| format!("public-{i}"))
            .chain((1..=own.private_subnets).map(|i| format!("private-{i}")))
            .collect(),
        _ => Vec::new(),
    }
}

pub fn check_security_groups(file: &StackFile, v: &mut Vec<Problem>) {
    for (name, sg) in &file.security_groups {
        super::check_name(name, &sg.referenced, "security group", 200, v);
        // EC2's character set for group descriptions.
        if let Some(d) = &sg.value.description {
            let ok = !d.value.is_empty()
                && d.value.len() <= 255
                && d.value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c));
            if !ok {
                v.push(
                    Problem::at(&d.referenced, format!("`{}` is not a description EC2 accepts", d.value))
                        .hint("use up to 255 letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* (no accents, no quotes)"),
                );
            }
        }
        for rule in &sg.value.ingress {
            let r = &rule.value;
            if r.port == 0 {
                v.push(
                    Problem::at(&rule.referenced, "port 0 is not a port").hint("use 1 to 65535"),
                );
            }
            match (&r.cidr, &r.from) {
                (Some(_), Some(_)) | (None, None) => v.push(
                    Problem::at(&rule.referenced, "an ingress rule needs exactly one of `cidr` or `from`")
                        .hint("write `{ port: 80, cidr: 0.0.0.0/0 }` to admit a range, or `{ port: 3306, from: web }` to admit another group of this stack"),
                ),
                (Some(c), None) => {
                    if parse_cidr(c).is_none() {
                        v.push(
                            Problem::at(&rule.referenced, format!("`{c}` is not an IPv4 CIDR range"))
                                .hint("write it as address/prefix, e.g. 0.0.0.0/0 or 203.0.113.7/32"),
                        );
                    }
                }
                (None, Some(from)) => {
                    if !file.security_groups.contains_key(&from.value) {
                        v.push(undefined("security group", &from.value, &from.referenced, file.security_groups.keys()));
                    }
                }
            }
        }
    }
}

/// (address, prefix) of an IPv4 CIDR.
pub fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    if prefix > 32 {
        return None;
    }
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    Some((u32::from(ip), prefix))
}
