//! EC2 container instances (ASG + capacity provider) and RDS databases.

use super::network::group_ids;
use super::{CLUSTER, Expanded, Net, role};
use crate::desired::{Kind, Resource, Value};
use crate::resources::{
    autoscaling_group, capacity_provider, cluster_capacity, db_instance, db_subnet_group,
    instance_profile, launch_template,
};
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

pub fn expand_instances(
    stack: &str,
    inst: &Located<Instances>,
    net: &Net,
    out: &mut Expanded,
    from_lb: bool,
) {
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
        instance_profile::Desired {
            name: Value::str(format!("{stack}-instance")),
            role_name: Value::reference(INSTANCE_ROLE, "name"),
        }
        .resource(INSTANCE_PROFILE),
    );
    // The agent joins the cluster named in /etc/ecs/ecs.config (else the `default` one).
    let user_data = Value::Join(vec![
        Value::str("#!/bin/bash\necho ECS_CLUSTER="),
        Value::reference(CLUSTER, "name"),
        Value::str(" >> /etc/ecs/ecs.config\n"),
    ]);
    out.resources.push(
        launch_template::Desired {
            name: Value::str(format!("{stack}-instances")),
            image_id: Value::reference(AMI, "value"),
            instance_type: Value::str(i.instance_type.value.clone()),
            instance_profile_arn: Value::reference(INSTANCE_PROFILE, "arn"),
            security_group_ids: match (group_ids(&i.security_groups), from_lb) {
                (Value::List(mut ids), true) => {
                    ids.push(Value::reference(super::web::INSTANCES_FROM_LB, "id"));
                    Value::List(ids)
                }
                (ids, _) => ids,
            },
            key_name: Value::opt_str(i.key_pair.clone()),
            user_data,
        }
        .resource(LAUNCH_TEMPLATE),
    );
    let mut asg = autoscaling_group::Desired {
        name: Value::str(format!("{stack}-instances")),
        launch_template_id: Value::reference(LAUNCH_TEMPLATE, "id"),
        min_size: Value::Int(i.min.into()),
        max_size: Value::Int(i.max.into()),
        desired_capacity: Value::Int(i.desired.unwrap_or(i.min).into()),
        subnet_ids: net.subnets(i.subnets.as_ref(), "public"),
    }
    .resource(ASG);
    asg.after.extend(net.internet.clone());
    out.resources.push(asg);
    out.resources.push(
        capacity_provider::Desired {
            name: Value::str(format!("{stack}-instances")),
            auto_scaling_group_arn: Value::reference(ASG, "arn"),
        }
        .resource(CAPACITY_PROVIDER),
    );
    out.resources.push(
        cluster_capacity::Desired {
            cluster: Value::reference(CLUSTER, "name"),
            capacity_providers: Value::List(vec![Value::reference(CAPACITY_PROVIDER, "name")]),
        }
        .resource(CLUSTER_CAPACITY),
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
        db_subnet_group::Desired {
            // RDS keeps these names in lower case; asking for that avoids a false drift.
            name: Value::str(format!("{stack}-{name}").to_lowercase()),
            description: Value::str(format!("{name} of stack {stack}")),
            subnet_ids: net.subnets(d.subnets.as_ref(), "private"),
        }
        .resource(&sng),
    );
    out.resources.push(
        db_instance::Desired {
            identifier: Value::str(format!("{stack}-{name}").to_lowercase()),
            engine: Value::str(d.engine.as_str()),
            engine_version: Value::opt_str(d.engine_version.clone()),
            instance_class: Value::str(d.instance_class.value.clone()),
            storage_gb: Value::Int(d.storage_gb.value.into()),
            db_name: Value::str(d.db_name.value.clone()),
            username: Value::str(d.username.value.clone()),
            subnet_group: Value::reference(&sng, "name"),
            security_group_ids: group_ids(&d.security_groups),
            publicly_accessible: Value::Bool(false),
            final_snapshot: Value::Bool(d.final_snapshot),
            backup_retention_days: d
                .backup_retention_days
                .map_or(Value::Null, |b| Value::Int(b.into())),
        }
        .resource(format!("db_instance.{name}")),
    );
}
