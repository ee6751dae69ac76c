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
    let lts = ec2
        .describe_launch_templates()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    for lt in lts.launch_templates() {
        left.push(format!("launch template {:?}", lt.launch_template_id()));
    }
    let prefix = format!("{stack}-");
    let asgs = c
        .autoscaling
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap();
    for g in asgs.auto_scaling_groups() {
        if g.auto_scaling_group_name()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            left.push(format!(
                "auto scaling group {:?}",
                g.auto_scaling_group_name()
            ));
        }
    }
    let cps = c
        .ecs
        .describe_capacity_providers()
        .capacity_providers(format!("{stack}-instances"))
        .send()
        .await
        .unwrap();
    for cp in cps
        .capacity_providers()
        .iter()
        .filter(|cp| cp.status().map(|s| s.as_str()) == Some("ACTIVE"))
    {
        left.push(format!("capacity provider {:?}", cp.name()));
    }
    for p in c
        .iam
        .list_instance_profiles()
        .send()
        .await
        .unwrap()
        .instance_profiles()
    {
        if p.instance_profile_name().starts_with(&prefix) {
            left.push(format!("instance profile {}", p.instance_profile_name()));
        }
    }
    for db in c
        .rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
    {
        if db
            .db_instance_identifier()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            left.push(format!("database {:?}", db.db_instance_identifier()));
        }
    }
    for g in c
        .rds
        .describe_db_subnet_groups()
        .send()
        .await
        .unwrap()
        .db_subnet_groups()
    {
        if g.db_subnet_group_name()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            left.push(format!("DB subnet group {:?}", g.db_subnet_group_name()));
        }
    }
    // Load balancers and target groups carry the stack's tags.
    let lbs = c.elb.describe_load_balancers().send().await.unwrap();
    let tgs = c.elb.describe_target_groups().send().await.unwrap();
    let arns: Vec<String> = lbs
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_arn().map(str::to_string))
        .chain(
            tgs.target_groups()
                .iter()
                .filter_map(|g| g.target_group_arn().map(str::to_string)),
        )
        .collect();
    for chunk in arns.chunks(20) {
        let tags = c
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        for d in tags.tag_descriptions() {
            if d.tags()
                .iter()
                .any(|t| t.key() == Some("provision:stack") && t.value() == Some(stack))
            {
                left.push(format!(
                    "load balancer or target group {:?}",
                    d.resource_arn()
                ));
            }
        }
    }
    // Scalable targets of the cluster's services.
    let targets = c
        .scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    for t in targets.scalable_targets() {
        if t.resource_id().starts_with(&format!("service/{cluster}/")) {
            left.push(format!("scalable target {:?}", t.resource_id()));
        }
    }
    left
}
