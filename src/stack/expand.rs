//! Stack file -> desired resources. Each resource's references to others are its edges;
//! names of what AWS holds are derived here, once, from the stack name.

use super::model::*;
use super::validate::parse_cidr;
use crate::desired::{Kind, Resource, Value};
use indexmap::IndexMap;
use serde_saphyr::Location;
use std::collections::HashMap;

pub const ACCOUNT: &str = "lookup.account";
pub const DEFAULT_VPC: &str = "lookup.default_vpc";
pub const ZONES: &str = "lookup.zones";
pub const EXEC_ROLE: &str = "iam_role.task_execution";
pub const CLUSTER: &str = "ecs_cluster";
const EXEC_POLICY: &str = "policy/service-role/AmazonECSTaskExecutionRolePolicy";

pub struct Expanded {
    pub resources: Vec<Resource>,
    /// Where in the stack file each resource comes from, for error messages.
    pub origins: HashMap<String, Location>,
}

pub fn expand(file: &StackFile) -> Expanded {
    let stack = file.stack.value.as_str();
    let mut out = Expanded {
        resources: Vec::new(),
        origins: HashMap::new(),
    };
    out.resources.push(Resource::new(ACCOUNT, Kind::Account));
    let net = expand_network(file, stack, &mut out);

    for (name, sg) in &file.security_groups {
        let id = format!("security_group.{name}");
        let rules: Vec<Value> = sg
            .value
            .ingress
            .iter()
            .map(|r| ingress_rule(&r.value, name))
            .collect();
        let desc = sg
            .value
            .description
            .clone()
            .unwrap_or_else(|| format!("{name} of stack {stack}"));
        out.origins.insert(id.clone(), sg.referenced);
        out.resources.push(
            Resource::new(&id, Kind::SecurityGroup)
                .with("vpc_id", net.vpc_id.clone())
                .with("group_name", Value::str(format!("{stack}-{name}")))
                .with("description", Value::str(desc))
                .with("ingress", Value::List(rules)),
        );
    }

    if file
        .services
        .values()
        .any(|s| s.value.execution_role.is_none())
    {
        out.resources.push(
            Resource::new(EXEC_ROLE, Kind::IamRole)
                .with("role_name", Value::str(format!("{stack}-task-execution")))
                .with("trust_service", Value::str("ecs-tasks.amazonaws.com"))
                .with(
                    "managed_policy_arns",
                    Value::List(vec![Value::Join(vec![
                        Value::str("arn:"),
                        Value::reference(ACCOUNT, "partition"),
                        Value::str(format!(":iam::aws:{EXEC_POLICY}")),
                    ])]),
                ),
        );
    }

    if !file.services.is_empty() {
        let name = file
            .cluster
            .as_ref()
            .map_or(stack.to_string(), |c| c.value.clone());
        out.resources
            .push(Resource::new(CLUSTER, Kind::EcsCluster).with("name", Value::str(name)));
    }

    for (name, svc) in &file.services {
        expand_service(stack, name, &svc.value, &net, &mut out);
        out.origins
            .insert(format!("ecs_service.{name}"), svc.referenced);
    }
    out
}

fn ingress_rule(r: &Ingress, own_group: &str) -> Value {
    let mut m = IndexMap::new();
    m.insert("protocol".into(), Value::str(r.protocol.as_str()));
    m.insert("port".into(), Value::Int(r.port.into()));
    if let Some(c) = &r.cidr {
        m.insert("cidr".into(), Value::str(c.clone()));
    }
    if let Some(from) = &r.from {
        // A group admitting itself refers to its own id, which is no edge in the graph.
        let source = if from.value == own_group {
            Value::str("self")
        } else {
            Value::reference(&format!("security_group.{}", from.value), "id")
        };
        m.insert("source_group_id".into(), source);
    }
    m.insert("description".into(), Value::opt_str(r.description.clone()));
    Value::Map(m)
}

struct Net {
    vpc_id: Value,
    public: Vec<(String, Value)>,
    private: Vec<(String, Value)>,
    /// The default VPC's subnets are one list known only after the lookup.
    default_subnets: Option<Value>,
}

fn expand_network(file: &StackFile, stack: &str, out: &mut Expanded) -> Net {
    let own = match file.network.as_ref().map(|n| &n.vpc.value) {
        Some(VpcChoice::Own(own)) => own,
        _ => {
            out.resources
                .push(Resource::new(DEFAULT_VPC, Kind::DefaultVpc));
            return Net {
                vpc_id: Value::reference(DEFAULT_VPC, "id"),
                public: Vec::new(),
                private: Vec::new(),
                default_subnets: Some(Value::reference(DEFAULT_VPC, "subnet_ids")),
            };
        }
    };
    out.resources.push(
        Resource::new("vpc", Kind::Vpc)
            .with("cidr", Value::str(own.cidr.clone()))
            .with("enable_dns_hostnames", Value::Bool(true))
            .with("name", Value::str(stack)),
    );
    out.resources
        .push(Resource::new(ZONES, Kind::AvailabilityZones));
    let vpc_id = Value::reference("vpc", "id");
    let (base, prefix) = parse_cidr(&own.cidr).unwrap_or((0, 16));
    let sub_prefix = prefix + 4;
    // Subnets are 16 times smaller than the VPC: public ones take slots 0-7, private 8-15.
    let network = base & (u32::MAX << (32 - prefix));
    let carve = |k: u32| {
        let addr = std::net::Ipv4Addr::from(network + k * (1u32 << (32 - sub_prefix)));
        format!("{addr}/{sub_prefix}")
    };
    let mut net = Net {
        vpc_id: vpc_id.clone(),
        public: Vec::new(),
        private: Vec::new(),
        default_subnets: None,
    };
    let groups = [
        ("public", own.public_subnets, 0u32, true),
        ("private", own.private_subnets, 8u32, false),
    ];
    for (group, count, offset, public) in groups {
        for i in 0..count {
            let name = format!("{group}-{}", i + 1);
            let id = format!("subnet.{name}");
            out.resources.push(
                Resource::new(&id, Kind::Subnet)
                    .with("vpc_id", vpc_id.clone())
                    .with("cidr", Value::str(carve(offset + u32::from(i))))
                    .with(
                        "availability_zone",
                        Value::Ref(crate::desired::Ref {
                            resource: ZONES.into(),
                            attr: "names".into(),
                            pick: Some(i.into()),
                        }),
                    )
                    .with("map_public_ip_on_launch", Value::Bool(public))
                    .with("name", Value::str(format!("{stack}-{name}"))),
            );
            let entry = (name, Value::reference(&id, "id"));
            if public {
                net.public.push(entry);
            } else {
                net.private.push(entry);
            }
        }
    }
    out.resources.push(
        Resource::new("internet_gateway", Kind::InternetGateway)
            .with("vpc_id", vpc_id.clone())
            .with("name", Value::str(stack)),
    );
    out.resources.push(
        Resource::new("route_table.public", Kind::RouteTable)
            .with("vpc_id", vpc_id)
            .with("gateway_id", Value::reference("internet_gateway", "id"))
            .with(
                "subnet_ids",
                Value::List(net.public.iter().map(|(_, v)| v.clone()).collect()),
            )
            .with("name", Value::str(format!("{stack}-public"))),
    );
    net
}

fn subnets_for(svc: &Service, net: &Net) -> Value {
    if let Some(all) = &net.default_subnets {
        return all.clone();
    }
    let wanted: Vec<String> = svc
        .subnets
        .as_ref()
        .map(|s| s.iter().map(|x| x.value.clone()).collect())
        .unwrap_or_else(|| vec!["public".into()]);
    let mut ids = Vec::new();
    for w in wanted {
        let pool = net.public.iter().chain(net.private.iter());
        for (name, id) in pool {
            let hit = *name == w || name.strip_prefix(&format!("{w}-")).is_some();
            if hit && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    Value::List(ids)
}

fn expand_service(stack: &str, name: &str, s: &Service, net: &Net, out: &mut Expanded) {
    let log_id = format!("log_group.{name}");
    out.resources.push(
        Resource::new(&log_id, Kind::LogGroup)
            .with("name", Value::str(format!("/ecs/{stack}/{name}")))
            .with(
                "retention_days",
                s.log_retention_days
                    .as_ref()
                    .map_or(Value::Null, |d| Value::Int(d.value.into())),
            ),
    );

    let execution_role = match &s.execution_role {
        Some(role) => existing_role(&role.value, out),
        None => Value::reference(EXEC_ROLE, "arn"),
    };
    let task_role = match &s.task_role {
        Some(role) => existing_role(&role.value, out),
        None => Value::Null,
    };
    let containers: Vec<Value> = s
        .containers
        .value
        .iter()
        .map(|(cname, c)| container(cname, &c.value, name, &log_id))
        .collect();
    let fargate = s.launch_type.value == LaunchType::Fargate;
    let td_id = format!("task_definition.{name}");
    out.resources.push(
        Resource::new(&td_id, Kind::TaskDefinition)
            .with("family", Value::str(format!("{stack}-{name}")))
            .with(
                "cpu",
                Value::opt_str(s.cpu.as_ref().map(|c| c.value.to_string())),
            )
            .with(
                "memory",
                Value::opt_str(s.memory.as_ref().map(|m| m.value.to_string())),
            )
            .with(
                "network_mode",
                Value::str(if fargate { "awsvpc" } else { "bridge" }),
            )
            .with(
                "requires_compatibilities",
                Value::List(vec![Value::str(if fargate { "FARGATE" } else { "EC2" })]),
            )
            .with("operating_system_family", Value::str("LINUX"))
            .with(
                "cpu_architecture",
                Value::str(match s.cpu_architecture {
                    Architecture::X86_64 => "X86_64",
                    Architecture::Arm64 => "ARM64",
                }),
            )
            .with("execution_role_arn", execution_role)
            .with("task_role_arn", task_role)
            .with("containers", Value::List(containers)),
    );

    let sgs: Vec<Value> = s
        .security_groups
        .iter()
        .map(|g| Value::reference(&format!("security_group.{}", g.value), "id"))
        .collect();
    out.resources.push(
        Resource::new(format!("ecs_service.{name}"), Kind::EcsService)
            .with("name", Value::str(name))
            .with("cluster", Value::reference(CLUSTER, "arn"))
            .with("task_definition", Value::reference(&td_id, "arn"))
            .with("desired_count", Value::Int(s.desired_count.into()))
            .with(
                "launch_type",
                Value::str(if fargate { "FARGATE" } else { "EC2" }),
            )
            .with(
                "platform_version",
                Value::str(
                    s.platform_version
                        .clone()
                        .unwrap_or_else(|| "LATEST".into()),
                ),
            )
            .with("subnets", subnets_for(s, net))
            .with("security_groups", Value::List(sgs))
            .with("assign_public_ip", Value::Bool(s.public_ip.value)),
    );
}

fn existing_role(name_or_arn: &str, out: &mut Expanded) -> Value {
    let id = format!("lookup.role.{name_or_arn}");
    if !out.resources.iter().any(|r| r.id == id) {
        out.resources
            .push(Resource::new(&id, Kind::ExistingRole).with("name", Value::str(name_or_arn)));
    }
    Value::reference(&id, "arn")
}

fn container(name: &str, c: &Container, service: &str, log_id: &str) -> Value {
    let mut m = IndexMap::new();
    m.insert("name".into(), Value::str(name));
    m.insert("image".into(), Value::str(c.image.value.clone()));
    m.insert("essential".into(), Value::Bool(c.essential.unwrap_or(true)));
    let num = |n: Option<u32>| n.map_or(Value::Null, |n| Value::Int(n.into()));
    m.insert("cpu".into(), num(c.cpu));
    m.insert("memory".into(), num(c.memory));
    m.insert("memory_reservation".into(), num(c.memory_reservation));
    let ports = c
        .ports
        .iter()
        .map(|p| {
            let p = &p.value;
            let mut pm = IndexMap::new();
            pm.insert(
                "container_port".into(),
                Value::Int(p.container_port().into()),
            );
            pm.insert(
                "host_port".into(),
                Value::Int(p.host_port().unwrap_or(p.container_port()).into()),
            );
            pm.insert("protocol".into(), Value::str(p.protocol().as_str()));
            let app = match p {
                PortSpec::Mapping(m) if m.app_protocol.is_some() => m.app_protocol.clone(),
                _ if p.protocol() == Protocol::Tcp => Some("http".into()),
                _ => None,
            };
            pm.insert("app_protocol".into(), Value::opt_str(app));
            Value::Map(pm)
        })
        .collect();
    m.insert("port_mappings".into(), Value::List(ports));
    let mut env: Vec<(&String, &String)> = c.environment.iter().collect();
    env.sort();
    m.insert(
        "environment".into(),
        Value::Map(
            env.into_iter()
                .map(|(k, v)| (k.clone(), Value::str(v.clone())))
                .collect(),
        ),
    );
    let list = |l: &Option<Vec<String>>| {
        l.as_ref().map_or(Value::Null, |l| {
            Value::List(l.iter().map(|s| Value::str(s.clone())).collect())
        })
    };
    m.insert("command".into(), list(&c.command));
    m.insert("entry_point".into(), list(&c.entry_point));
    let mut logs = IndexMap::new();
    logs.insert("awslogs-group".into(), Value::reference(log_id, "name"));
    logs.insert("awslogs-region".into(), Value::reference(ACCOUNT, "region"));
    logs.insert("awslogs-stream-prefix".into(), Value::str(service));
    m.insert("log_options".into(), Value::Map(logs));
    Value::Map(m)
}
