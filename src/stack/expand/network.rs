//! The VPC (default or own), subnets, internet access, and security groups.

use super::{DEFAULT_VPC, Expanded, Net, ZONES};
use crate::desired::{Kind, Ref, Resource, Value};
use crate::resources::{
    internet_gateway, route_table, route_table_association, security_group, subnet, vpc,
};
use crate::stack::model::*;
use crate::stack::validate::parse_cidr;

pub fn expand_network(file: &StackFile, stack: &str, out: &mut Expanded) -> Net {
    // Fargate does not run in every zone of a few regions: its subnets keep to those it does.
    let fargate = Value::Bool(
        file.services
            .values()
            .any(|s| s.value.launch_type.value == LaunchType::Fargate),
    );
    let own = match file.network.as_ref().map(|n| &n.vpc.value) {
        Some(VpcChoice::Own(own)) => own,
        _ => {
            out.resources
                .push(Resource::new(DEFAULT_VPC, Kind::DefaultVpc).with("fargate", fargate));
            return Net {
                vpc_id: Value::reference(DEFAULT_VPC, "id"),
                public: Vec::new(),
                private: Vec::new(),
                default_subnets: Some(Value::reference(DEFAULT_VPC, "subnet_ids")),
                internet: Vec::new(),
            };
        }
    };
    out.resources.push(
        vpc::Desired {
            cidr: Value::str(own.cidr.clone()),
            enable_dns_hostnames: Value::Bool(true),
            name: Value::str(stack),
        }
        .resource("vpc"),
    );
    out.resources
        .push(Resource::new(ZONES, Kind::AvailabilityZones).with("fargate", fargate));
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
        internet: vec!["route_table.public".into()],
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
                subnet::Desired {
                    vpc_id: vpc_id.clone(),
                    cidr: Value::str(carve(offset + u32::from(i))),
                    availability_zone: Value::Ref(Ref {
                        resource: ZONES.into(),
                        attr: "names".into(),
                        pick: Some(i.into()),
                    }),
                    map_public_ip_on_launch: Value::Bool(public),
                    name: Value::str(format!("{stack}-{name}")),
                }
                .resource(&id),
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
        internet_gateway::Desired {
            name: Value::str(stack),
        }
        .resource("internet_gateway"),
    );
    out.resources.push(
        route_table::Desired {
            vpc_id,
            gateway_id: Value::reference("internet_gateway", "id"),
            name: Value::str(format!("{stack}-public")),
        }
        .resource("route_table.public"),
    );
    for (_, subnet) in &net.public {
        let Value::Ref(r) = subnet else { continue };
        let id = route_table_association::id_for(&r.resource);
        out.resources.push(
            route_table_association::Desired {
                route_table_id: Value::reference("route_table.public", "id"),
                subnet_id: subnet.clone(),
            }
            .resource(&id),
        );
        net.internet.push(id);
    }
    net
}

pub fn expand_security_groups(file: &StackFile, stack: &str, net: &Net, out: &mut Expanded) {
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
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_else(|| format!("{name} of stack {stack}"));
        out.origins.insert(id.clone(), sg.referenced);
        out.resources.push(
            security_group::Desired {
                vpc_id: net.vpc_id.clone(),
                group_name: Value::str(format!("{stack}-{name}")),
                description: Value::str(desc),
                ingress: Value::List(rules),
            }
            .resource(&id),
        );
    }
}

fn ingress_rule(r: &Ingress, own_group: &str) -> Value {
    // A group admitting itself refers to its own id, which is no edge in the graph.
    let source = r.from.as_ref().map_or(Value::Null, |from| {
        if from.value == own_group {
            Value::str("self")
        } else {
            Value::reference(&format!("security_group.{}", from.value), "id")
        }
    });
    security_group::RuleDesired {
        protocol: Value::str(r.protocol.as_str()),
        port: Value::Int(r.port.into()),
        to_port: Value::Null,
        cidr: Value::opt_str(r.cidr.clone()),
        source_group_id: source,
        description: Value::opt_str(r.description.clone()),
    }
    .value()
}

pub fn group_ids(groups: &[Located<String>]) -> Value {
    Value::List(
        groups
            .iter()
            .map(|g| Value::reference(&format!("security_group.{}", g.value), "id"))
            .collect(),
    )
}
