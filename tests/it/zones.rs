//! Fargate's zones: in ap-northeast-1 Fargate does not run in apne1-az3, which older
//! accounts (and the emulator) have. A Fargate service keeps to the zones where it runs.

use crate::emulator::{self, CALL_LOG, provision, stack_dir, text};
use provision::aws::{Clients, Settings};

const REGION: &str = "ap-northeast-1";

async fn tokyo() -> Clients {
    let conf = provision::aws::load(&Settings {
        local: true,
        endpoint_url: Some(emulator::get().url.clone()),
        region: Some(REGION.into()),
        ..Default::default()
    })
    .await;
    Clients::new(&conf)
}

#[tokio::test]
async fn a_fargate_service_keeps_to_the_zones_where_fargate_runs() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let stack = "e2e-tokyo";
    let dir = stack_dir("httpd-fargate.yaml", stack);
    let up = provision(
        dir.path(),
        &["--region", REGION, "up", "--yes", "--no-wait"],
    );
    assert!(up.status.success(), "{}", text(&up));
    let c = tokyo().await;
    let svc = c
        .ecs
        .describe_services()
        .cluster(stack)
        .services("httpd")
        .send()
        .await
        .unwrap();
    let subnets: Vec<String> = svc.services()[0]
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| a.subnets().to_vec())
        .unwrap_or_default();
    let zones = c
        .ec2
        .describe_subnets()
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = zones
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone_id())
        .collect();
    assert!(!ids.is_empty(), "{subnets:?}");
    assert!(!ids.contains(&"apne1-az3"), "{ids:?}");
    // The default VPC does have a subnet there: it was left out on purpose.
    let all = c
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
    assert!(
        all.subnets()
            .iter()
            .any(|s| s.availability_zone_id() == Some("apne1-az3")),
        "the emulator's ap-northeast-1 has apne1-az3"
    );
    let down = provision(dir.path(), &["--region", REGION, "down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
}

#[test]
fn fargate_keeps_to_its_zones_where_aws_lists_them() {
    use provision::resources::zones::fargate_runs_in;
    assert!(!fargate_runs_in("ap-northeast-1", "apne1-az3"));
    assert!(fargate_runs_in("ap-northeast-1", "apne1-az4"));
    assert!(!fargate_runs_in("us-west-1", "usw1-az2"));
    assert!(fargate_runs_in("us-west-1", "usw1-az1"));
    assert!(fargate_runs_in("eu-west-1", "euw1-az3"));
}
