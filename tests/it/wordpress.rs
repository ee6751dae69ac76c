//! The WordPress templates, end to end on the emulator, read back through the SDK.

use crate::emulator::{self, CALL_LOG, provision, stack_dir_named, text};
use crate::leftovers::{leftovers, tag_filter};
use provision::aws::Clients;

async fn managed_password(c: &Clients, secret_arn: &str) -> String {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&emulator::get().url)
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "t",
        ))
        .load()
        .await;
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let v = sm
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(v.secret_string().unwrap()).unwrap();
    let _ = c;
    doc["password"].as_str().unwrap().to_string()
}

/// IAM returns policy documents URL-encoded.
pub(crate) fn percent_decoded(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn wordpress_on_ec2_instances_with_rds() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-wp";
    let dir = stack_dir_named("wordpress-ec2.yaml", "wordpress", stack);
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(
        text(&up).contains("db_instance.wpdb: creating"),
        "the wait for the database is shown: {}",
        text(&up)
    );
    let c = emulator::clients().await;

    // The instances: the ECS-optimized AMI from AWS's public parameter, joining the cluster.
    let ami = c
        .ssm
        .get_parameter()
        .name("/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id")
        .send()
        .await
        .unwrap();
    let ami = ami.parameter().unwrap().value().unwrap().to_string();
    let lts = c
        .ec2
        .describe_launch_templates()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    let lt_id = lts.launch_templates()[0]
        .launch_template_id()
        .unwrap()
        .to_string();
    let v = c
        .ec2
        .describe_launch_template_versions()
        .launch_template_id(&lt_id)
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = v.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(data.image_id(), Some(ami.as_str()));
    use base64::Engine;
    let user_data = base64::engine::general_purpose::STANDARD
        .decode(data.user_data().unwrap())
        .unwrap();
    let user_data = String::from_utf8(user_data).unwrap();
    assert!(
        user_data.contains(&format!("ECS_CLUSTER={stack} >> /etc/ecs/ecs.config")),
        "{user_data}"
    );
    let profile_arn = data.iam_instance_profile().unwrap().arn().unwrap();
    let profile_name = profile_arn.rsplit('/').next().unwrap();
    let profile = c
        .iam
        .get_instance_profile()
        .instance_profile_name(profile_name)
        .send()
        .await
        .unwrap();
    let role = profile.instance_profile().unwrap().roles()[0]
        .role_name()
        .to_string();
    let attached = c
        .iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    let policies: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(
        policies,
        ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"]
    );
    let asgs = c
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("{stack}-instances"))
        .send()
        .await
        .unwrap();
    let asg = &asgs.auto_scaling_groups()[0];
    assert_eq!(
        (asg.min_size(), asg.max_size(), asg.desired_capacity()),
        (Some(1), Some(1), Some(1))
    );
    let cluster = c
        .ecs
        .describe_clusters()
        .clusters(stack)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cluster.clusters()[0].capacity_providers(),
        [format!("{stack}-instances")]
    );

    // The task: bridge networking, 80:80, the host volume at /var/www/html, the database wired in.
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(format!("{stack}-wordpress"))
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("bridge"));
    let compat: Vec<&str> = td
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(compat, ["EC2"]);
    let wp = &td.container_definitions()[0];
    assert_eq!(
        (wp.image(), wp.memory(), wp.cpu(), wp.essential()),
        (Some("wordpress"), Some(512), 256, Some(true))
    );
    let port = &wp.port_mappings()[0];
    assert_eq!(
        (port.host_port(), port.container_port()),
        (Some(80), Some(80))
    );
    assert_eq!(
        td.volumes()[0].host().unwrap().source_path(),
        Some("/ecs/wordpress")
    );
    let mount = &wp.mount_points()[0];
    assert_eq!(
        (mount.source_volume(), mount.container_path()),
        (Some("wp-content"), Some("/var/www/html"))
    );

    let dbs = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(format!("{stack}-wpdb"))
        .send()
        .await
        .unwrap();
    let db = &dbs.db_instances()[0];
    assert_eq!(db.publicly_accessible(), Some(false));
    let endpoint = db.endpoint().unwrap().address().unwrap();
    let env: Vec<(&str, &str)> = wp
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert!(env.contains(&("WORDPRESS_DB_HOST", endpoint)), "{env:?}");
    assert!(
        env.contains(&("WORDPRESS_DB_USER", "wordpress"))
            && env.contains(&("WORDPRESS_DB_NAME", "wordpress"))
    );
    let secret_arn = db.master_user_secret().unwrap().secret_arn().unwrap();
    let secret = &wp.secrets()[0];
    assert_eq!(secret.name(), "WORDPRESS_DB_PASSWORD");
    assert_eq!(secret.value_from(), format!("{secret_arn}:password::"));

    // The execution role may read exactly that secret.
    let exec_role = td.execution_role_arn().unwrap().rsplit('/').next().unwrap();
    let names = c
        .iam
        .list_role_policies()
        .role_name(exec_role)
        .send()
        .await
        .unwrap();
    let policy = c
        .iam
        .get_role_policy()
        .role_name(exec_role)
        .policy_name(&names.policy_names()[0])
        .send()
        .await
        .unwrap();
    let doc = percent_decoded(policy.policy_document());
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let statement = &doc["Statement"][0];
    assert_eq!(
        statement["Action"],
        serde_json::json!(["secretsmanager:GetSecretValue"])
    );
    assert_eq!(
        statement["Resource"],
        serde_json::json!([secret_arn]),
        "exactly the database's secret"
    );

    // The database admits MySQL only from the instances' group.
    let db_sg = db.vpc_security_groups()[0].vpc_security_group_id().unwrap();
    let sgs = c
        .ec2
        .describe_security_groups()
        .group_ids(db_sg)
        .send()
        .await
        .unwrap();
    let perms = sgs.security_groups()[0].ip_permissions();
    assert_eq!(perms.len(), 1);
    assert_eq!(perms[0].from_port(), Some(3306));
    assert!(
        perms[0].ip_ranges().is_empty(),
        "no CIDR may reach the database"
    );
    let inst_sg = data.security_group_ids()[0].clone();
    assert_eq!(
        perms[0].user_id_group_pairs()[0].group_id(),
        Some(inst_sg.as_str())
    );
    // And nobody may SSH to the instances unless the file says so.
    let inst = c
        .ec2
        .describe_security_groups()
        .group_ids(&inst_sg)
        .send()
        .await
        .unwrap();
    assert!(
        inst.security_groups()[0]
            .ip_permissions()
            .iter()
            .all(|p| p.from_port() != Some(22))
    );

    let again = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(text(&again).contains("No changes"), "{}", text(&again));
    let outputs = provision(dir.path(), &["outputs"]);
    assert!(
        text(&outputs).contains(&format!("db_instance.wpdb.endpoint = {endpoint}")),
        "{}",
        text(&outputs)
    );

    // Everything the stack owns is found in AWS by its tags alone, one list per kind:
    // what recovery starts from when the state is lost.
    let state_path = dir.path().join(format!(".provision/{stack}.state.json"));
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let mut want: Vec<(String, String)> = recorded["resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, e)| (id.clone(), e["physical_id"].as_str().unwrap().to_string()))
        .collect();
    want.sort();
    let aws = provision::resources::Aws::new(c.clone());
    let mut found = Vec::new();
    for kind in provision::desired::Kind::OWNED {
        use provision::provider::Provider;
        for f in aws.discover(*kind, stack).await.unwrap() {
            found.push((f.id, f.physical_id));
        }
    }
    found.sort();
    assert_eq!(
        found, want,
        "discovery finds exactly what the state records"
    );

    // The password is in no state while the stack is up (read now, not after `down`).
    let password = managed_password(&c, secret_arn).await;
    let state_while_up = std::fs::read_to_string(&state_path).unwrap();
    assert!(
        !state_while_up.contains(&password),
        "the database password appears in the state"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        text(&down).contains("final snapshot"),
        "the plan says the snapshot is taken: {}",
        text(&down)
    );
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());

    // The password is in no state file and in no output.
    let state =
        std::fs::read_to_string(dir.path().join(format!(".provision/{stack}.state.json"))).unwrap();
    for (what, said) in [
        ("up", text(&up)),
        ("second up", text(&again)),
        ("outputs", text(&outputs)),
        ("down", text(&down)),
        ("the state", state),
    ] {
        assert!(
            !said.contains(&password),
            "the database password appears in {what}"
        );
    }
}

#[tokio::test]
async fn wordpress_on_fargate_is_a_small_edit_away() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-wpfg";
    let dir = stack_dir_named("wordpress-fargate.yaml", "wordpress-fg", stack);
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up));
    let c = emulator::clients().await;
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(format!("{stack}-wordpress"))
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
    let dbs = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(format!("{stack}-wpdb"))
        .send()
        .await
        .unwrap();
    let db = &dbs.db_instances()[0];
    let endpoint = db.endpoint().unwrap().address().unwrap();
    let env: Vec<(&str, &str)> = td.container_definitions()[0]
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert!(env.contains(&("WORDPRESS_DB_HOST", endpoint)));
    // The database admits the service's own group.
    let svc = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("wordpress")
        .send()
        .await
        .unwrap();
    let web_sg = svc.services()[0]
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap()
        .security_groups()[0]
        .clone();
    let db_sg = db.vpc_security_groups()[0].vpc_security_group_id().unwrap();
    let sgs = c
        .ec2
        .describe_security_groups()
        .group_ids(db_sg)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sgs.security_groups()[0].ip_permissions()[0].user_id_group_pairs()[0].group_id(),
        Some(web_sg.as_str())
    );

    let again = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    assert!(text(&again).contains("No changes"), "{}", text(&again));
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}
