//! The strict local AWS refuses what AWS refuses: each rule, exercised directly through
//! the SDK (wrong order first, then the right one, which must succeed).

use crate::emulator::{self, CALL_LOG};
use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The AWS error code of a call that must fail.
fn refused<T, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => panic!("the emulator accepted what AWS refuses"),
        Err(e) => e.code().unwrap_or("(no code)").to_string(),
    }
}

#[tokio::test]
async fn network_deletions_in_the_wrong_order_are_refused() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let ec2 = &c.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.77.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let a = ec2
        .create_security_group()
        .group_name("strict-a")
        .description("a")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let a = a.group_id().unwrap().to_string();
    let b = ec2
        .create_security_group()
        .group_name("strict-b")
        .description("b")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let b = b.group_id().unwrap().to_string();
    let from_a = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(3306)
        .to_port(3306)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&a).build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(&b)
        .ip_permissions(from_a.clone())
        .send()
        .await
        .unwrap();
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let rt = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
    let rt = rt
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    // A route to a gateway not attached to the table's VPC.
    let loose = ec2.create_internet_gateway().send().await.unwrap();
    let loose = loose
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    let route = |gw: &str| {
        ec2.create_route()
            .route_table_id(&rt)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(gw)
            .send()
    };
    assert_eq!(refused(route(&loose).await), "InvalidParameterValue");
    route(&igw).await.unwrap();
    ec2.delete_internet_gateway()
        .internet_gateway_id(&loose)
        .send()
        .await
        .unwrap();
    let assoc = ec2
        .associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    // A subnet has one explicit association.
    assert_eq!(
        refused(
            ec2.associate_route_table()
                .route_table_id(&rt)
                .subnet_id(&subnet)
                .send()
                .await
        ),
        "Resource.AlreadyAssociated"
    );
    let eni = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&a)
        .send()
        .await
        .unwrap();
    let eni = eni
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();

    assert_eq!(
        refused(ec2.delete_vpc().vpc_id(&vpc).send().await),
        "DependencyViolation"
    );
    assert_eq!(
        refused(ec2.delete_security_group().group_id(&a).send().await),
        "DependencyViolation",
        "referenced by b's rule"
    );
    assert_eq!(
        refused(
            ec2.delete_internet_gateway()
                .internet_gateway_id(&igw)
                .send()
                .await
        ),
        "DependencyViolation"
    );
    assert_eq!(
        refused(ec2.delete_route_table().route_table_id(&rt).send().await),
        "DependencyViolation"
    );
    assert_eq!(
        refused(ec2.delete_subnet().subnet_id(&subnet).send().await),
        "DependencyViolation",
        "the ENI is in it"
    );

    // The right order goes through.
    ec2.revoke_security_group_ingress()
        .group_id(&b)
        .ip_permissions(from_a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(ec2.delete_security_group().group_id(&a).send().await),
        "DependencyViolation",
        "the ENI uses it"
    );
    ec2.delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&a)
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&b)
        .send()
        .await
        .unwrap();
    ec2.disassociate_route_table()
        .association_id(assoc.association_id().unwrap())
        .send()
        .await
        .unwrap();
    ec2.delete_route_table()
        .route_table_id(&rt)
        .send()
        .await
        .unwrap();
    ec2.detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    ec2.delete_internet_gateway()
        .internet_gateway_id(&igw)
        .send()
        .await
        .unwrap();
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}

#[tokio::test]
async fn iam_ecs_and_rds_deletions_in_the_wrong_order_are_refused() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
    c.iam
        .create_role()
        .role_name("strict-role")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    c.iam
        .attach_role_policy()
        .role_name("strict-role")
        .policy_arn(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(c.iam.delete_role().role_name("strict-role").send().await),
        "DeleteConflict"
    );
    c.iam
        .detach_role_policy()
        .role_name("strict-role")
        .policy_arn(policy)
        .send()
        .await
        .unwrap();
    c.iam
        .create_instance_profile()
        .instance_profile_name("strict-ip")
        .send()
        .await
        .unwrap();
    c.iam
        .add_role_to_instance_profile()
        .instance_profile_name("strict-ip")
        .role_name("strict-role")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(c.iam.delete_role().role_name("strict-role").send().await),
        "DeleteConflict"
    );
    c.iam
        .remove_role_from_instance_profile()
        .instance_profile_name("strict-ip")
        .role_name("strict-role")
        .send()
        .await
        .unwrap();
    c.iam
        .delete_instance_profile()
        .instance_profile_name("strict-ip")
        .send()
        .await
        .unwrap();
    c.iam
        .delete_role()
        .role_name("strict-role")
        .send()
        .await
        .unwrap();

    use aws_sdk_ecs::types::ContainerDefinition;
    c.ecs
        .create_cluster()
        .cluster_name("strict-cluster")
        .send()
        .await
        .unwrap();
    let td = ContainerDefinition::builder()
        .name("x")
        .image("x")
        .memory(64)
        .build();
    c.ecs
        .register_task_definition()
        .family("strict-td")
        .container_definitions(td)
        .send()
        .await
        .unwrap();
    let service = || {
        c.ecs
            .create_service()
            .cluster("strict-cluster")
            .service_name("s")
            .task_definition("strict-td")
            .desired_count(0)
    };
    service().send().await.unwrap();
    assert_eq!(
        refused(service().send().await),
        "InvalidParameterException",
        "a service name is taken"
    );
    assert_eq!(
        refused(
            c.ecs
                .delete_cluster()
                .cluster("strict-cluster")
                .send()
                .await
        ),
        "ClusterContainsServicesException"
    );
    c.ecs
        .delete_service()
        .cluster("strict-cluster")
        .service("s")
        .force(true)
        .send()
        .await
        .unwrap();
    // A capacity provider attached to a cluster cannot go.
    use aws_sdk_ecs::types::AutoScalingGroupProvider;
    let asg =
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0:autoScalingGroupName/strict";
    let provider = AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(asg)
        .build()
        .unwrap();
    c.ecs
        .create_capacity_provider()
        .name("strict-cp")
        .auto_scaling_group_provider(provider)
        .send()
        .await
        .unwrap();
    c.ecs
        .put_cluster_capacity_providers()
        .cluster("strict-cluster")
        .capacity_providers("strict-cp")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(
            c.ecs
                .delete_capacity_provider()
                .capacity_provider("strict-cp")
                .send()
                .await
        ),
        "ClientException"
    );
    c.ecs
        .put_cluster_capacity_providers()
        .cluster("strict-cluster")
        .set_capacity_providers(Some(vec![]))
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    c.ecs
        .delete_capacity_provider()
        .capacity_provider("strict-cp")
        .send()
        .await
        .unwrap();
    c.ecs
        .delete_cluster()
        .cluster("strict-cluster")
        .send()
        .await
        .unwrap();

    // Fargate sizes and networking, as ECS checks them.
    let fargate = |cpu: &str, memory: &str, mode: aws_sdk_ecs::types::NetworkMode| {
        c.ecs
            .register_task_definition()
            .family("strict-fargate")
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .network_mode(mode)
            .cpu(cpu)
            .memory(memory)
            .container_definitions(ContainerDefinition::builder().name("x").image("x").build())
    };
    use aws_sdk_ecs::types::NetworkMode::{Awsvpc, Bridge};
    assert_eq!(
        refused(fargate("256", "4096", Awsvpc).send().await),
        "ClientException"
    );
    assert_eq!(
        refused(fargate("256", "512", Bridge).send().await),
        "ClientException"
    );
    fargate("256", "512", Awsvpc).send().await.unwrap();
    // An awsvpc service needs its network configuration.
    c.ecs
        .create_cluster()
        .cluster_name("strict-awsvpc")
        .send()
        .await
        .unwrap();
    let no_network = c
        .ecs
        .create_service()
        .cluster("strict-awsvpc")
        .service_name("s")
        .task_definition("strict-fargate")
        .desired_count(0);
    assert_eq!(
        refused(no_network.send().await),
        "InvalidParameterException"
    );
    c.ecs
        .delete_cluster()
        .cluster("strict-awsvpc")
        .send()
        .await
        .unwrap();

    // RDS: a subnet group in use, a deletion with no word on the final snapshot, bad sizes.
    let ec2 = &c.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.78.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.78.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let sg = ec2
        .create_security_group()
        .group_name("strict-db")
        .description("db")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let sg = sg.group_id().unwrap().to_string();
    c.rds
        .create_db_subnet_group()
        .db_subnet_group_name("strict-dbs")
        .db_subnet_group_description("d")
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .unwrap();
    let db = |class: &str, storage: i32| {
        c.rds
            .create_db_instance()
            .db_instance_identifier("strict-db")
            .engine("mysql")
            .db_instance_class(class)
            .allocated_storage(storage)
            .master_username("u")
            .manage_master_user_password(true)
            .db_subnet_group_name("strict-dbs")
            .vpc_security_group_ids(&sg)
    };
    assert_eq!(
        refused(db("t3.micro", 20).send().await),
        "InvalidParameterValue"
    );
    assert_eq!(
        refused(db("db.t3.micro", 5).send().await),
        "InvalidParameterValue"
    );
    db("db.t3.micro", 20).send().await.unwrap();
    assert_eq!(
        refused(
            c.rds
                .delete_db_subnet_group()
                .db_subnet_group_name("strict-dbs")
                .send()
                .await
        ),
        "InvalidDBSubnetGroupStateFault"
    );
    assert_eq!(
        refused(ec2.delete_security_group().group_id(&sg).send().await),
        "DependencyViolation",
        "the database uses it"
    );
    assert_eq!(
        refused(
            c.rds
                .delete_db_instance()
                .db_instance_identifier("strict-db")
                .send()
                .await
        ),
        "InvalidParameterCombination"
    );
    c.rds
        .delete_db_instance()
        .db_instance_identifier("strict-db")
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap();
    c.rds
        .delete_db_subnet_group()
        .db_subnet_group_name("strict-dbs")
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cluster_with_container_instances_cannot_be_deleted() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    c.ecs
        .create_cluster()
        .cluster_name("strict-ci")
        .send()
        .await
        .unwrap();
    use base64::Engine;
    let user_data = base64::engine::general_purpose::STANDARD
        .encode("#!/bin/bash\necho ECS_CLUSTER=strict-ci >> /etc/ecs/ecs.config\n");
    let run = c
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .user_data(user_data)
        .send()
        .await
        .unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_string();
    // The instance's agent joins the cluster named in its user data.
    let listed = c
        .ecs
        .list_container_instances()
        .cluster("strict-ci")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.container_instance_arns().len(), 1);
    assert_eq!(
        refused(c.ecs.delete_cluster().cluster("strict-ci").send().await),
        "ClusterContainsContainerInstancesException"
    );
    c.ec2
        .terminate_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();
    c.ecs
        .delete_cluster()
        .cluster("strict-ci")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cluster_cannot_go_while_its_tasks_are_stopping() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    use aws_sdk_ecs::types::{
        AwsVpcConfiguration, Compatibility, ContainerDefinition, NetworkConfiguration, NetworkMode,
    };
    let default_subnet = c
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let subnet = default_subnet.subnets()[0].subnet_id().unwrap().to_string();
    let vpc = default_subnet.subnets()[0].vpc_id().unwrap().to_string();
    let sg = c
        .ec2
        .create_security_group()
        .group_name("strict-tasks")
        .description("t")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let sg = sg.group_id().unwrap().to_string();
    c.ecs
        .create_cluster()
        .cluster_name("strict-tasks")
        .send()
        .await
        .unwrap();
    c.ecs
        .register_task_definition()
        .family("strict-tasks")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("x")
                .image("httpd")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(&subnet)
                .security_groups(&sg)
                .build()
                .unwrap(),
        )
        .build();
    c.ecs
        .create_service()
        .cluster("strict-tasks")
        .service_name("s")
        .task_definition("strict-tasks")
        .desired_count(1)
        .network_configuration(network)
        .send()
        .await
        .unwrap();
    // Wait until the task runs (the emulator starts it after its start delay).
    let started = std::time::Instant::now();
    loop {
        let s = c
            .ecs
            .describe_services()
            .cluster("strict-tasks")
            .services("s")
            .send()
            .await
            .unwrap();
        if s.services()[0].running_count() == 1 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the task never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    c.ecs
        .delete_service()
        .cluster("strict-tasks")
        .service("s")
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(c.ecs.delete_cluster().cluster("strict-tasks").send().await),
        "ClusterContainsTasksException"
    );
    assert_eq!(
        refused(c.ec2.delete_security_group().group_id(&sg).send().await),
        "DependencyViolation",
        "the task's interface"
    );
    // Once the task has stopped and let go of its interface, both can go.
    let started = std::time::Instant::now();
    while c
        .ecs
        .delete_cluster()
        .cluster("strict-tasks")
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the task never stopped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    c.ec2
        .delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap();
}

/// A strict rule that breaks (a moto upgrade moved what it reads) must fail the request
/// loudly, never let it through unchecked.
#[tokio::test]
async fn a_broken_rule_fails_closed_with_its_name() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    // An operation no test or command uses, so breaking it disturbs nothing else.
    emulator::control(
        "/_provision/strict/break",
        serde_json::json!({"actions": ["DescribeKeyPairs"]}),
    );
    let r = c.ec2.describe_key_pairs().send().await;
    emulator::control(
        "/_provision/strict/break",
        serde_json::json!({"actions": []}),
    );
    let e = r.expect_err("a broken rule let the request through");
    assert_eq!(e.code(), Some("EmulatorRuleFailed"), "{e:?}");
    assert!(
        e.message()
            .is_some_and(|m| m.contains("strict rule for DescribeKeyPairs")),
        "{e:?}"
    );
    c.ec2
        .describe_key_pairs()
        .send()
        .await
        .expect("fixed again");
}

#[tokio::test]
async fn a_service_above_zero_is_deleted_only_with_force() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let c = emulator::clients().await;
    let cluster = "strict-force";
    c.ecs
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .unwrap();
    c.ecs
        .register_task_definition()
        .family("strict-force")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("a")
                .image("httpd")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.ecs
        .create_service()
        .cluster(cluster)
        .service_name("svc")
        .task_definition("strict-force")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let code = refused(
        c.ecs
            .delete_service()
            .cluster(cluster)
            .service("svc")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    c.ecs
        .delete_service()
        .cluster(cluster)
        .service("svc")
        .force(true)
        .send()
        .await
        .unwrap();
    c.ecs
        .deregister_task_definition()
        .task_definition("strict-force:1")
        .send()
        .await
        .unwrap();
}
