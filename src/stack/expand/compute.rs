//! EC2 container instances (ASG + capacity provider) and RDS databases.

use super::network::group_ids;
use super::{CLUSTER, Expanded, Net, role};
use crate::desired::{Kind, Resource, Value};
use crate::stack::model::*;

pub const AMI: &str = "lookup.ecs_ami";
pub const INSTANCE_ROLE: &str = "iam_role.instance";
pub const INSTANCE_PROFILE: &str = "instance_profile.instance";
pub const LAUNCH_TEMPLATE: &str = "launch_template.instances";
pub const ASG: &str = "autoscaling_group.instances";
pub const CAPACITY_PROVIDER: &str = "capacity_provider.instances";
pub const CLUSTER_CAPACITY: &str = "cluster_capacity_providers";

/// AWS's public parameter with the current ECS-optimized Amazon Linux 2023 AMI.
fn ami_parameter(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => {
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
        }
        Architecture::Arm64 => {
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
        }
    }
}

pub fn expand_instances(stack: &str, inst: &Located<Instances>, net: &Net, out: &mut Expanded) {
    let i = &inst.value;
    out.origins.insert(ASG.into(), inst.referenced);
    out.resources.push(
        Resource::new(AMI, Kind::SsmParameter)
            .with("name", Value::str(ami_parameter(i.cpu_architecture))),
    );
    out.resources.push(role(
        INSTANCE_ROLE,
        &format!("{stack}-instance"),
        "ec2.amazonaws.com",
        "service-role/AmazonEC2ContainerServiceforEC2Role",
    ));
    out.resources.push(
        Resource::new(INSTANCE_PROFILE, Kind::InstanceProfile)
            .with("name", Value::str(format!("{stack}-instance")))
            .with("role_name", Value::reference(INSTANCE_ROLE, "name")),
    );
    // The agent joins the cluster named in /etc/ecs/ecs.config (else the `default` one).
    let user_data = Value::Join(vec![
        Value::str("#!/bin/bash\necho ECS_CLUSTER="),
        Value::reference(CLUSTER, "name"),
        Value::str(" >> /etc/ecs/ecs.config\n"),
    ]);
    out.resources.push(
        Resource::new(LAUNCH_TEMPLATE, Kind::LaunchTemplate)
            .with("name", Value::str(format!("{stack}-instances")))
            .with("image_id", Value::reference(AMI, "value"))
            .with("instance_type", Value::str(i.instance_type.value.clone()))
            .with(
                "instance_profile_arn",
                Value::reference(INSTANCE_PROFILE, "arn"),
            )
            .with("security_group_ids", group_ids(&i.security_groups))
            .with("key_name", Value::opt_str(i.key_pair.clone()))
            .with("user_data", user_data),
    );
    let mut asg = Resource::new(ASG, Kind::AutoScalingGroup);
    asg.after.extend(net.internet.clone());
    out.resources.push(
        asg.with("name", Value::str(format!("{stack}-instances")))
            .with(
                "launch_template_id",
                Value::reference(LAUNCH_TEMPLATE, "id"),
            )
            .with("min_size", Value::Int(i.min.into()))
            .with("max_size", Value::Int(i.max.into()))
            .with(
                "desired_capacity",
                Value::Int(i.desired.unwrap_or(i.min).into()),
            )
            .with("subnet_ids", net.subnets(i.subnets.as_ref(), "public")),
    );
    out.resources.push(
        Resource::new(CAPACITY_PROVIDER, Kind::CapacityProvider)
            .with("name", Value::str(format!("{stack}-instances")))
            .with("auto_scaling_group_arn", Value::reference(ASG, "arn")),
    );
    out.resources.push(
        Resource::new(CLUSTER_CAPACITY, Kind::ClusterCapacityProviders)
            .with("cluster", Value::reference(CLUSTER, "name"))
            .with(
                "capacity_providers",
                Value::List(vec![Value::reference(CAPACITY_PROVIDER, "name")]),
            ),
    );
}

pub fn expand_database(
    stack: &str,
    name: &str,
    db: &Located<Database>,
    net: &Net,
    out: &mut Expanded,
) {
    let d = &db.value;
    let sng = format!("db_subnet_group.{name}");
    out.origins
        .insert(format!("db_instance.{name}"), db.referenced);
    out.resources.push(
        Resource::new(&sng, Kind::DbSubnetGroup)
            // RDS keeps these names in lower case; asking for that avoids a false drift.
            .with("name", Value::str(format!("{stack}-{name}").to_lowercase()))
            .with(
                "description",
                Value::str(format!("{name} of stack {stack}")),
            )
            .with("subnet_ids", net.subnets(d.subnets.as_ref(), "private")),
    );
    out.resources.push(
        Resource::new(format!("db_instance.{name}"), Kind::DbInstance)
            .with(
                "identifier",
                Value::str(format!("{stack}-{name}").to_lowercase()),
            )
            .with("engine", Value::str(d.engine.as_str()))
            .with("engine_version", Value::opt_str(d.engine_version.clone()))
            .with("instance_class", Value::str(d.instance_class.value.clone()))
            .with("storage_gb", Value::Int(d.storage_gb.value.into()))
            .with("db_name", Value::str(d.db_name.value.clone()))
            .with("username", Value::str(d.username.value.clone()))
            .with("subnet_group", Value::reference(&sng, "name"))
            .with("security_group_ids", group_ids(&d.security_groups))
            .with("publicly_accessible", Value::Bool(false))
            .with("final_snapshot", Value::Bool(d.final_snapshot))
            .with(
                "backup_retention_days",
                d.backup_retention_days
                    .map_or(Value::Null, |b| Value::Int(b.into())),
            ),
    );
}
