//! Stack file -> desired resources. Each resource's references to others are its edges;
//! names of what AWS holds are derived here, once, from the stack name.

mod compute;
mod network;
mod service;
pub(crate) mod web;

use super::model::*;
use crate::desired::{Kind, Resource, Value};
use crate::resources::{ecs_cluster, iam_role};
use indexmap::IndexMap;
use serde_saphyr::Location;
use std::collections::HashMap;

pub const ACCOUNT: &str = "lookup.account";
pub const DEFAULT_VPC: &str = "lookup.default_vpc";
pub const ZONES: &str = "lookup.zones";
pub const EXEC_ROLE: &str = "iam_role.task_execution";
pub const CLUSTER: &str = "ecs_cluster";

pub struct Expanded {
    pub resources: Vec<Resource>,
    /// Where in the stack file each resource comes from, for error messages.
    pub origins: HashMap<String, Location>,
}

/// The network pieces others refer to.
pub(crate) struct Net {
    pub vpc_id: Value,
    pub public: Vec<(String, Value)>,
    pub private: Vec<(String, Value)>,
    /// The default VPC's subnets are one list known only after the lookup.
    pub default_subnets: Option<Value>,
    /// The route to the internet of the stack's own VPC: the table and its associations.
    /// What runs in the public subnets is done only after it (to pull images; a Fargate
    /// service's create goes ahead beside it, see `Owned::DONE_AFTER`) and goes before it
    /// (AWS will not detach an internet gateway while public addresses are mapped in the
    /// VPC).
    pub internet: Vec<String>,
}

impl Net {
    /// Subnet ids for selectors such as `public`, `private` or `public-1`.
    pub fn subnets(&self, selectors: Option<&Vec<Located<String>>>, default: &str) -> Value {
        if let Some(all) = &self.default_subnets {
            return all.clone();
        }
        let wanted: Vec<String> = selectors
            .map(|s| s.iter().map(|x| x.value.clone()).collect())
            .unwrap_or_else(|| vec![default.into()]);
        let mut ids = Vec::new();
        for w in wanted {
            for (name, id) in self.public.iter().chain(self.private.iter()) {
                let hit = *name == w || name.strip_prefix(&format!("{w}-")).is_some();
                if hit && !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        Value::List(ids)
    }
}

pub fn expand(file: &StackFile) -> Expanded {
    let stack = file.stack.value.as_str();
    let mut out = Expanded {
        resources: Vec::new(),
        origins: HashMap::new(),
    };
    out.resources.push(Resource::new(ACCOUNT, Kind::Account));
    let net = network::expand_network(file, stack, &mut out);
    network::expand_security_groups(file, stack, &net, &mut out);
    web::expand_load_balancer(file, stack, &net, &mut out);

    if file
        .services
        .values()
        .any(|s| s.value.execution_role.is_none())
    {
        out.resources.push(role(
            EXEC_ROLE,
            &format!("{stack}-task-execution"),
            "ecs-tasks.amazonaws.com",
            "service-role/AmazonECSTaskExecutionRolePolicy",
        ));
    }
    if !file.services.is_empty() || file.instances.is_some() {
        let name = file
            .cluster
            .as_ref()
            .map_or(stack.to_string(), |c| c.value.clone());
        out.resources.push(
            ecs_cluster::Desired {
                name: Value::str(name),
            }
            .resource(CLUSTER),
        );
    }
    if let Some(inst) = &file.instances {
        let from_lb = file
            .services
            .values()
            .any(|s| s.value.expose.is_some() && s.value.launch_type.value == LaunchType::Ec2);
        compute::expand_instances(stack, inst, &net, &mut out, from_lb);
    }
    for (name, db) in &file.databases {
        compute::expand_database(stack, name, db, &net, &mut out);
    }
    let mut exposed = 0;
    for (name, svc) in &file.services {
        service::expand_service(file, stack, name, &svc.value, exposed, &net, &mut out);
        exposed += usize::from(svc.value.expose.is_some());
        out.origins
            .insert(format!("ecs_service.{name}"), svc.referenced);
    }
    out
}

/// An IAM role the stack owns, trusted by one service, with one AWS managed policy.
pub(crate) fn role(id: &str, name: &str, trusted: &str, managed_policy: &str) -> Resource {
    iam_role::Desired {
        role_name: Value::str(name),
        trust_service: Value::str(trusted),
        managed_policy_arns: Value::List(vec![Value::Join(vec![
            Value::str("arn:"),
            Value::reference(ACCOUNT, "partition"),
            Value::str(format!(":iam::aws:policy/{managed_policy}")),
        ])]),
    }
    .resource(id)
}

pub(crate) fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<IndexMap<_, _>>(),
    )
}
