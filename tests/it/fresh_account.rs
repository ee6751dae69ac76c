//! A first run in a fresh account, as the emulator's fresh-account mode plays it: ECS's
//! service-linked role comes late, new roles and instance profiles are not usable at once,
//! EC2 answers NotFound right after a create, a capacity provider is PROVISIONING, the
//! database backs up after creation, and a new secret policy takes a while to reach ECS.
//! Every reference template goes up (waiting for it all), plans nothing more, and goes down
//! leaving nothing.

use crate::emulator::{self, CALL_LOG, Delays, provision, provision_env, stack_dir_named, text};
use crate::leftovers::leftovers;

/// `up` waits for everything in the fresh-account mode; the next plan is empty; `down`
/// leaves nothing. Returns what `up` said.
async fn fresh_up_and_down(
    template: &str,
    from: &str,
    stack: &str,
    edit: Option<(&str, &str)>,
    database_busy_at_down: Option<&str>,
) -> String {
    let dir = stack_dir_named(template, from, stack);
    let fresh = Delays::set(serde_json::json!({"fresh_account": true}));
    let up = provision(dir.path(), &["up", "--yes"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    let again = provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "nothing left to do: {}",
        text(&again)
    );
    let mut said = said;
    if let Some((from, to)) = edit {
        let file = dir.path().join("stack.yaml");
        let yaml = std::fs::read_to_string(&file).unwrap().replace(from, to);
        std::fs::write(&file, yaml).unwrap();
        let change = provision(dir.path(), &["up", "--yes"]);
        said.push_str(&text(&change));
        assert!(change.status.success(), "{}", text(&change));
        let again = provision(dir.path(), &["plan", "--detailed-exitcode"]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "nothing left to do: {}",
            text(&again)
        );
    }
    let c = emulator::clients().await;
    if let Some(db) = database_busy_at_down {
        // Someone changes the database in the console just before `down`: it is `modifying`,
        // and RDS takes no final snapshot until it is available again.
        c.rds
            .modify_db_instance()
            .db_instance_identifier(db)
            .backup_retention_period(3)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
    }
    let down = provision(dir.path(), &["down", "--yes"]);
    drop(fresh);
    said.push_str(&text(&down));
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
    said
}

#[tokio::test]
async fn httpd_on_fargate_goes_up_and_down_in_a_fresh_account() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let said = fresh_up_and_down(
        "httpd-fargate.yaml",
        "hello-httpd",
        "e2e-fresh-httpd",
        None,
        None,
    )
    .await;
    for waited in [
        "AuthorizeSecurityGroupIngress: EC2 does not see what was just made yet",
        "ECS's service-linked role is not there yet",
    ] {
        assert!(said.contains(waited), "{waited}: {said}");
    }
}

/// The WordPress stack on EC2 meets every delay; changing the database's class modifies only
/// that (the emulator refuses "8.0" sent back to an 8.0.39 instance as a downgrade) and waits
/// until the modification is applied.
#[tokio::test]
async fn wordpress_on_ec2_goes_up_and_down_in_a_fresh_account() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let said = fresh_up_and_down(
        "wordpress-ec2.yaml",
        "wordpress",
        "e2e-fresh-wp",
        Some(("instance_class: db.t3.micro", "instance_class: db.t3.small")),
        Some("e2e-fresh-wp-wpdb"),
    )
    .await;
    for waited in [
        "ModifyVpcAttribute: EC2 does not see what was just made yet",
        "Invalid IAM Instance Profile ARN); waiting for AWS to spread what was just made",
        "capacity provider PROVISIONING; a cluster can use it only once ACTIVE",
        "db_instance.wpdb: backing-up",
        "db_instance.wpdb: modifying instance_class",
        "db_instance.wpdb: modifying\n",
        "the instance is modifying: RDS takes a final snapshot only once it is available",
    ] {
        assert!(said.contains(waited), "{waited}: {said}");
    }
}

#[tokio::test]
async fn wordpress_on_fargate_goes_up_and_down_in_a_fresh_account() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let said = fresh_up_and_down(
        "wordpress-fargate.yaml",
        "wordpress-fg",
        "e2e-fresh-wpfg",
        None,
        None,
    )
    .await;
    assert!(said.contains("db_instance.wpdb: creating"), "{said}");
}

/// A task that cannot read its secret while the execution role's policy is new is retried
/// by ECS; `up` waits through it, saying so, and succeeds once the policy has spread.
#[tokio::test]
async fn a_secret_policy_still_spreading_is_waited_out() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-initwait";
    let dir = stack_dir_named("wordpress-fargate.yaml", "wordpress-fg", stack);
    let delays = Delays::set(serde_json::json!({"secret_window": 8}));
    let up = provision(dir.path(), &["up", "--yes"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");
    assert!(
        said.contains("a task could not initialize (ResourceInitializationError): ECS retries"),
        "{said}"
    );
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    drop(delays);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

/// When the same failure still happens past the window, it is AWS's answer: `up` stops with
/// the task's reason and the deployment-failed exit code.
#[tokio::test]
async fn a_secret_that_stays_unreadable_fails_after_the_window() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-initfail";
    let dir = stack_dir_named("wordpress-fargate.yaml", "wordpress-fg", stack);
    let delays = Delays::set(serde_json::json!({"secret_window": 120}));
    let up = provision_env(
        dir.path(),
        &["up", "--yes"],
        &[("PROVISION_INIT_WINDOW", "3")],
    );
    drop(delays);
    let said = text(&up);
    assert_eq!(up.status.code(), Some(3), "{said}");
    assert!(
        said.contains("a task stopped: ResourceInitializationError: unable to pull secrets"),
        "{said}"
    );
    let c = emulator::clients().await;
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(leftovers(&c, stack, stack).await, Vec::<String>::new());
}

#[tokio::test]
async fn httpd_behind_a_load_balancer_goes_up_and_down_in_a_fresh_account() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let said = fresh_up_and_down(
        "httpd-fargate-alb.yaml",
        "web-httpd",
        "e2e-fresh-alb",
        None,
        None,
    )
    .await;
    assert!(said.contains("2 healthy targets"), "{said}");
}
