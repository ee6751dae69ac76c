//! Container instances and databases.

use super::{Problem, Scope, check_groups, check_subnets};
use crate::stack::model::*;

pub fn check_instances(inst: &Located<Instances>, scope: &Scope, v: &mut Vec<Problem>) {
    let i = &inst.value;
    let t = &i.instance_type;
    if t.value.trim().is_empty() || !t.value.contains('.') {
        v.push(
            Problem::at(
                &t.referenced,
                format!("`{}` is not an EC2 instance type", t.value),
            )
            .hint("write a type such as t3.micro or m7g.large"),
        );
    }
    let stack = scope.file.stack.value.to_lowercase();
    if ["aws", "ecs", "fargate"]
        .iter()
        .any(|p| stack.starts_with(p))
    {
        v.push(
            Problem::at(&scope.file.stack.referenced, format!("with `instances:`, the stack's name cannot start with aws, ecs or fargate (`{}`)", scope.file.stack.value))
                .hint("ECS reserves those prefixes for capacity provider names, which the stack derives from its own; rename the stack"),
        );
    }
    let desired = i.desired.unwrap_or(i.min);
    if !(i.min <= desired && desired <= i.max) || i.max == 0 {
        v.push(
            Problem::at(&inst.referenced, format!("instances need min <= desired <= max and max >= 1 (here {} <= {desired} <= {})", i.min, i.max))
                .hint("e.g. `min: 1`, `max: 2`, `desired: 1`"),
        );
    }
    if !scope.own_vpc {
        v.push(
            Problem::at(&inst.referenced, "container instances need the stack's own VPC")
                .hint("write `network: { vpc: { cidr: 10.0.0.0/16, public_subnets: 2, private_subnets: 2 } }`: instances and database then share it"),
        );
    }
    if let Some(subnets) = &i.subnets {
        check_subnets(subnets, scope, v);
    }
    if i.security_groups.is_empty() {
        v.push(
            Problem::at(&inst.referenced, "the instances name no security group")
                .hint("add `security_groups: [instances]` with a group that admits the services' host ports"),
        );
    }
    check_groups(&i.security_groups, scope.file, v);
}

fn identifier_ok(s: &str, max: usize, extra: char) -> bool {
    (1..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == extra)
}

pub fn check_database(name: &str, db: &Located<Database>, scope: &Scope, v: &mut Vec<Problem>) {
    let d = &db.value;
    // `<stack>-<name>` is the RDS identifier: no `--` and no hyphen at the end.
    if !identifier_ok(name, 30, '-') || name.contains("--") || name.ends_with('-') {
        v.push(
            Problem::at(
                &db.referenced,
                format!("`{name}` is not a usable database name"),
            )
            .hint("use up to 30 letters, digits and single hyphens, starting with a letter and not ending with a hyphen"),
        );
    }
    let class = &d.instance_class;
    if !class.value.starts_with("db.") || class.value.matches('.').count() != 2 {
        v.push(
            Problem::at(
                &class.referenced,
                format!("`{}` is not an RDS instance class", class.value),
            )
            .hint("write a class such as db.t3.micro or db.m7g.large"),
        );
    }
    let storage = &d.storage_gb;
    if !(20..=65536).contains(&storage.value) {
        v.push(
            Problem::at(
                &storage.referenced,
                format!(
                    "RDS {} storage must be 20 to 65536 GB, not {}",
                    d.engine.as_str(),
                    storage.value
                ),
            )
            .hint("20 is the smallest and cheapest"),
        );
    }
    let user = &d.username;
    if !identifier_ok(&user.value, 16, '_')
        || user.value.eq_ignore_ascii_case("admin") && d.engine == Engine::Postgres
    {
        v.push(
            Problem::at(&user.referenced, format!("`{}` is not a usable master user name", user.value))
                .hint("use 1 to 16 letters, digits and underscores, starting with a letter, e.g. `wordpress`"),
        );
    }
    let dbn = &d.db_name;
    if !identifier_ok(&dbn.value, 64, '_') {
        v.push(
            Problem::at(&dbn.referenced, format!("`{}` is not a usable database name", dbn.value))
                .hint("use 1 to 64 letters, digits and underscores, starting with a letter, e.g. `wordpress`"),
        );
    }
    if d.backup_retention_days.is_some_and(|b| b > 35) {
        v.push(
            Problem::at(
                &db.referenced,
                "RDS keeps automated backups for at most 35 days",
            )
            .hint("use 0 to 35"),
        );
    }
    if !scope.own_vpc {
        v.push(
            Problem::at(&db.referenced, "a database needs the stack's own VPC with private subnets")
                .hint("write `network: { vpc: { cidr: 10.0.0.0/16, public_subnets: 2, private_subnets: 2 } }`; RDS then stays out of the internet's reach"),
        );
    } else {
        let names = &scope.subnet_names;
        let count_of = |sel: &str| match sel {
            g @ ("public" | "private") => names
                .iter()
                .filter(|n| n.starts_with(&format!("{g}-")))
                .count(),
            _ => 1,
        };
        match &d.subnets {
            Some(subnets) => {
                check_subnets(subnets, scope, v);
                if subnets.iter().map(|s| count_of(&s.value)).sum::<usize>() < 2 {
                    v.push(
                        Problem::at(&subnets[0].referenced, "RDS needs subnets in at least two availability zones")
                            .hint("name two subnets, or `private` with `private_subnets: 2` in the VPC"),
                    );
                }
            }
            None if count_of("private") < 2 => v.push(
                Problem::at(&db.referenced, format!("database `{name}` goes in the private subnets, and the VPC has {}", count_of("private")))
                    .hint("set `private_subnets: 2` in the VPC: RDS needs subnets in at least two availability zones"),
            ),
            None => {}
        }
    }
    if d.security_groups.is_empty() {
        v.push(
            Problem::at(&db.referenced, format!("database `{name}` names no security group"))
                .hint("add `security_groups: [db]` with a group admitting the port only `from:` the services' group"),
        );
    }
    check_groups(&d.security_groups, scope.file, v);
}
