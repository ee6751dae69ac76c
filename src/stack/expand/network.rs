//! The VPC (default or own), subnets, internet access, and security groups.

use super::{DEFAULT_VPC, Expanded, Net, ZONES, map};
use crate::desired::{Kind, Ref, Resource, Value};
use crate::stack::model::*;
use crate::stack::validate::parse_cidr;

pub fn expand_network(file: &StackFile, stack: &str, out: &mut Expanded) -> Net {
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
                internet: None,
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
        internet: Some("route_table.public".into()),
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
                        Value::Ref(Ref {
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
}

fn ingress_rule(r: &Ingress, own_group: &str) -> Value {
    let mut pairs = vec![
        ("protocol", Value::str(r.protocol.as_str())),
        ("port", Value::Int(r.port.into())),
    ];
    if let Some(c) = &r.cidr {
        pairs.push(("cidr", Value::str(c.clone())));
    }
    if let Some(from) = &r.from {
        // A group admitting itself refers to its own id, which is no edge in the graph.
        let source = if from.value == own_group {
            Value::str("self")
        } else {
            Value::reference(&format!("security_group.{}", from.value), "id")
        };
        pairs.push(("source_group_id", source));
    }
    pairs.push(("description", Value::opt_str(r.description.clone())));
    map(pairs)
}

pub fn group_ids(groups: &[Located<String>]) -> Value {
    Value::List(
        groups
            .iter()
            .map(|g| Value::reference(&format!("security_group.{}", g.value), "id"))
            .collect(),
    )
}
