//! AWS's rate limits, kept on our side: a stack whose task definitions alone exceed ECS's
//! RegisterTaskDefinition burst goes up without one throttled request, against an emulator
//! that enforces AWS's limits. The emulator does throttle a client that ignores them.
//! A request waits for its token before it is signed: AWS refuses a signature older than
//! 5 minutes, and a request that queued after signing would carry an old one.

use crate::emulator::{self, CALL_LOG, Faults, provision, raw_json_call, raw_json_call_with, text};
use provision::aws::limits::{Rate, family, signing_name};

#[test]
fn families_follow_awss_published_rates() {
    // The SDK names a request's service in its own words; the family wants the signing name.
    for (sdk, signing) in [
        ("ECS", "ecs"),
        ("EC2", "ec2"),
        ("CloudWatch Logs", "logs"),
        ("Elastic Load Balancing v2", "elasticloadbalancing"),
        ("Application Auto Scaling", "application-autoscaling"),
        ("Resource Groups Tagging API", "tagging"),
    ] {
        assert_eq!(signing_name(sdk), signing);
    }
    assert_eq!(
        family("ecs", "RegisterTaskDefinition"),
        (
            "ecs:RegisterTaskDefinition".into(),
            Rate {
                burst: 20.0,
                per_second: 1.0
            }
        )
    );
    assert_eq!(
        family("ecs", "UpdateService").1,
        Rate {
            burst: 50.0,
            per_second: 5.0
        }
    );
    assert_eq!(
        family("ecs", "DescribeServices").1,
        Rate {
            burst: 100.0,
            per_second: 20.0
        }
    );
    assert_eq!(
        family("ec2", "DescribeVpcs").1,
        Rate {
            burst: 100.0,
            per_second: 20.0
        }
    );
    assert_eq!(
        family("ec2", "CreateVpc").1,
        Rate {
            burst: 200.0,
            per_second: 5.0
        }
    );
}

/// When each of `n` DeleteService calls asked for at once may leave (one bucket, fresh),
/// and the instant they were asked for.
fn delete_services(n: usize) -> (std::time::Instant, Vec<std::time::Instant>) {
    let limits = provision::aws::limits::Limits::default();
    let (name, rate) = family("ecs", "DeleteService");
    let start = std::time::Instant::now();
    let dues = (0..n)
        .map(|_| std::time::Instant::now() + limits.take(&name, rate))
        .collect();
    (start, dues)
}

/// Release instants in order, each with how many requests leave at it (within 2 ms).
fn released_together(dues: &[std::time::Instant]) -> Vec<(std::time::Instant, usize)> {
    let mut groups: Vec<(std::time::Instant, usize)> = Vec::new();
    for due in dues {
        match groups.last_mut() {
            Some((at, n)) if due.duration_since(*at) < std::time::Duration::from_millis(2) => {
                *n += 1
            }
            _ => groups.push((*due, 1)),
        }
    }
    groups
}

#[test]
fn queued_requests_leave_together_on_a_tick_never_before_their_token() {
    use std::time::{Duration, Instant};
    // Kept below AWS's figures: 49 at once, then 4.5 a second.
    let (start, dues) = delete_services(80);
    let burst = dues.iter().filter(|d| **d <= Instant::now()).count();
    assert_eq!(burst, 49);
    for (k, due) in dues[49..].iter().enumerate() {
        // Never earlier than its token: the k-th beyond the burst waits k+1 tokens.
        let token = Duration::from_secs_f64((k + 1) as f64 / 4.5);
        assert!(
            due.duration_since(start) >= token,
            "request {k} leaves before its token"
        );
        // And at most a tick (1 s) later.
        assert!(due.duration_since(start) <= token + Duration::from_millis(1050));
    }
    // They leave in groups on shared instants, no more than half the burst at once.
    let groups = released_together(&dues[49..]);
    assert!(
        groups.len() <= 9,
        "31 requests in {} wake-ups",
        groups.len()
    );
    assert!(groups.iter().all(|(_, n)| *n <= 25), "{groups:?}");
}

#[test]
fn requests_queued_deep_leave_on_coarser_ticks_within_a_quarter_of_their_wait() {
    use std::time::Duration;
    // 200 beyond the burst, as a large stack's `down` queues them: up to 44 s deep.
    let (start, dues) = delete_services(249);
    for (k, due) in dues[49..].iter().enumerate() {
        let token = Duration::from_secs_f64((k + 1) as f64 / 4.5);
        let late = due.duration_since(start).saturating_sub(token);
        assert!(
            due.duration_since(start) >= token,
            "request {k} leaves before its token"
        );
        // Late by at most a tick: a second, or a quarter of the wait up to 4 s.
        let tick = (token / 4).clamp(Duration::from_secs(1), Duration::from_secs(4));
        assert!(
            late <= tick + Duration::from_millis(50),
            "request {k} is {late:?} late"
        );
    }
    let groups = released_together(&dues[49..]);
    // One-second ticks would take 45 wake-ups; never more than half the burst at once.
    assert!(
        groups.len() <= 25,
        "200 requests in {} wake-ups",
        groups.len()
    );
    assert!(groups.iter().all(|(_, n)| *n <= 24), "{groups:?}");
}

#[tokio::test]
async fn a_stack_beyond_the_burst_goes_up_without_being_throttled() {
    let _alone = CALL_LOG.write().unwrap_or_else(|e| e.into_inner());
    let limits = Faults::set(serde_json::json!({"rate_limits": true}));
    // A client that ignores the limits: 25 registrations at once, 20 allowed.
    let td = r#"{"family": "e2e-burst", "containerDefinitions": [{"name": "a", "image": "httpd", "memory": 64}]}"#;
    let refused = (0..25)
        .map(|_| {
            raw_json_call(
                "ecs",
                "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
                td,
            )
            .0
        })
        .filter(|status| *status == 400)
        .count();
    assert!(
        refused >= 4,
        "the emulator enforces the burst: {refused} refused"
    );
    drop(limits);

    let stack = "e2e-limits";
    let dir = emulator::services_dir(stack, 30, 0);
    // 30 registrations against a burst of 20 queue for about 11 s: a signature may age 2 s.
    let limits = Faults::set(serde_json::json!({"rate_limits": true, "signature_max_age_s": 2}));
    let up = provision(dir.path(), &["up", "--yes", "--no-wait"]);
    let status = Faults::status();
    drop(limits);
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(status["throttled"], 0, "{status}");
    assert_eq!(
        status["expired"], 0,
        "no request was signed before its wait: {status}"
    );
    let down = provision(dir.path(), &["down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down));
}

#[test]
fn the_emulator_refuses_an_expired_signature() {
    let _shared = CALL_LOG.read().unwrap_or_else(|e| e.into_inner());
    let (status, body) = raw_json_call_with(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.ListClusters",
        "{}",
        "X-Amz-Date: 20200101T000000Z\r\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidSignatureException"), "{body}");
    assert!(
        body.contains("Signature expired: 20200101T000000Z"),
        "{body}"
    );
}

#[test]
fn wake_ups_go_on_nested_grids_never_early_and_at_most_a_grid_late() {
    use provision::slot::{on_grid, on_tick};
    use std::time::Duration;
    let ms = Duration::from_millis;
    // Finer than the finest grid, or no tick at all: the delay as it is.
    assert_eq!(on_grid(ms(100), ms(10)), ms(100));
    assert_eq!(on_tick(ms(100), Duration::ZERO), ms(100));
    for (delay, coarsest, grid) in [
        (ms(300), ms(75), ms(62)),
        (ms(10_000), ms(2_500), ms(2_000)),
        (ms(60_000), ms(15_000), ms(4_000)),
    ] {
        let d = on_grid(delay, coarsest);
        // Measured from just before the call: `d` counts from a moment later.
        assert!(d + ms(5) >= delay, "{d:?} is earlier than {delay:?}");
        assert!(
            d <= delay + grid + ms(1),
            "{d:?} is more than a grid after {delay:?}"
        );
    }
}
