//! What is left in an AWS account (or the emulator) of a stack: everything carrying its
//! tag or its names. After `down` this must be empty.

use aws_sdk_ec2::types::Filter;
use provision::aws::Clients;

pub fn tag_filter(stack: &str) -> Filter {
    Filter::builder()
        .name("tag:provision:stack")
        .values(stack)
        .build()
}

/// Everything in the emulator that carries the stack's tag or its names.
pub async fn leftovers(c: &Clients, stack: &str, cluster: &str) -> Vec<String> {
    let mut left = Vec::new();
    let ec2 = &c.ec2;
    for v in ec2
        .describe_vpcs()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap()
        .vpcs()
    {
        left.push(format!("vpc {:?}", v.vpc_id()));
    }
    for s in ec2
        .describe_subnets()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap()
        .subnets()
    {
        left.push(format!("subnet {:?}", s.subnet_id()));
    }
    for g in ec2
        .describe_security_groups()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap()
        .security_groups()
    {
        left.push(format!("security group {:?}", g.group_id()));
    }
    for g in ec2
        .describe_internet_gateways()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap()
        .internet_gateways()
    {
        left.push(format!("internet gateway {:?}", g.internet_gateway_id()));
    }
    for r in ec2
        .describe_route_tables()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap()
        .route_tables()
    {
        left.push(format!("route table {:?}", r.route_table_id()));
    }
    let clusters = c
        .ecs
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .unwrap();
    for cl in clusters
        .clusters()
        .iter()
        .filter(|c| c.status() == Some("ACTIVE"))
    {
        left.push(format!("cluster {:?}", cl.cluster_name()));
    }
    let tds = c
        .ecs
        .list_task_definitions()
        .family_prefix(format!("{stack}-"))
        .send()
        .await
        .unwrap();
    for td in tds.task_definition_arns() {
        left.push(format!("task definition {td}"));
    }
    for r in c.iam.list_roles().send().await.unwrap().roles() {
        if r.role_name().starts_with(&format!("{stack}-")) {
            left.push(format!("role {}", r.role_name()));
        }
    }
    let groups = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecs/{stack}/"))
        .send()
        .await
        .unwrap();
    for g in groups.log_groups() {
        left.push(format!("log group {:?}", g.log_group_name()));
    }
    left
}
