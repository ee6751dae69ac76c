//! AWS's request rate limits, kept on our side: one token bucket per API family, with the
//! burst and the refill rate AWS publishes (or a conservative guess where it does not).
//! Every request waits for a token before it goes out, so a large stack goes up without
//! being throttled, instead of hitting the limit and backing off.
//!
//! The wait happens before the request is signed, never after: AWS refuses a signature
//! more than 5 minutes old, so a request that queued behind a long burst after signing
//! would be refused. The SDK resolves the credentials of every attempt just before it
//! signs it, through the client's identity cache; `Gate` is that cache, and waits for the
//! operation's token first (the operation is in the attempt's `Metadata`).

use aws_smithy_runtime_api::client::identity::{
    IdentityFuture, ResolveCachedIdentity, SharedIdentityCache, SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Burst (bucket size) and sustained rate (tokens per second) of a family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: f64,
    pub per_second: f64,
}

const fn rate(burst: f64, per_second: f64) -> Rate {
    Rate { burst, per_second }
}

/// The family of `service`'s `action`, and its rate. ECS and EC2 as AWS documents them
/// ("Request throttling for the Amazon ECS API", "Request throttling for the Amazon EC2
/// API"); CloudWatch Logs from its service quotas; the others, which AWS does not
/// publish, at a conservative 10 per second.
pub fn family(service: &str, action: &str) -> (String, Rate) {
    let read = ["Describe", "List", "Get"]
        .iter()
        .any(|p| action.starts_with(p));
    let (name, r) = match (service, action) {
        ("ecs", "RegisterTaskDefinition") => ("ecs:RegisterTaskDefinition", rate(20.0, 1.0)),
        ("ecs", "CreateService" | "UpdateService") => {
            ("ecs:CreateService/UpdateService", rate(50.0, 5.0))
        }
        ("ecs", _) if read => ("ecs:read", rate(100.0, 20.0)),
        ("ecs", _) => ("ecs:write", rate(50.0, 5.0)),
        ("ec2", _) if read => ("ec2:non-mutating", rate(100.0, 20.0)),
        ("ec2", _) => ("ec2:mutating", rate(200.0, 5.0)),
        (
            "logs",
            "CreateLogGroup" | "DeleteLogGroup" | "PutRetentionPolicy" | "DeleteRetentionPolicy",
        ) => ("logs:write", rate(5.0, 5.0)),
        ("logs", _) => ("logs:read", rate(10.0, 10.0)),
        ("iam", _) if read => ("iam:read", rate(20.0, 10.0)),
        ("iam", _) => ("iam:write", rate(10.0, 5.0)),
        ("sts" | "s3" | "ssm", _) => return (String::new(), rate(f64::INFINITY, f64::INFINITY)),
        (s, _) if read => return (format!("{s}:read"), rate(20.0, 10.0)),
        (s, _) => return (format!("{s}:write"), rate(20.0, 10.0)),
    };
    (name.to_string(), r)
}

/// A request leaves here a moment before AWS counts it, and not always in the same order:
/// keeping a little below AWS's figures (one token of burst, a tenth of the rate) absorbs
/// that jitter.
const MARGIN_BURST: f64 = 1.0;
const MARGIN_RATE: f64 = 0.9;
/// The tick of a short wait. Longer ticks mean fewer, fuller releases (and wake-ups) for
/// the same rate, but a request leaves up to a tick after its token: a quarter of the wait
/// keeps that in proportion.
const TICK: Duration = Duration::from_secs(1);

/// One bucket: tokens may go below zero, which queues the callers in order.
#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

/// The buckets of one run.
#[derive(Debug, Default)]
pub struct Limits {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limits {
    /// How long the caller must wait for a token of `family` (already taken).
    pub fn take(&self, family: &str, rate: Rate) -> Duration {
        if family.is_empty() || !rate.per_second.is_finite() {
            return Duration::ZERO;
        }
        let rate = Rate {
            burst: (rate.burst - MARGIN_BURST).max(1.0),
            per_second: rate.per_second * MARGIN_RATE,
        };
        let mut all = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let b = all.entry(family.to_string()).or_insert(Bucket {
            rate,
            tokens: rate.burst,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * b.rate.per_second;
        b.tokens = (b.tokens + refill).min(b.rate.burst);
        b.at = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            return Duration::ZERO;
        }
        // Waits that end within one tick end together, on the tick: requests queued for the
        // same family leave (and are answered) together and share the process's wake-ups,
        // instead of each waking it alone. Later than its token, never earlier, so no rate
        // is exceeded. A tick lets at most half the burst through at once. It is a second
        // (or the half burst's time, where shorter), and up to a quarter of the wait for a
        // request queued deep (4 s at most, on the grids the waits' polls use): fewer,
        // fuller releases where a run is long anyway.
        let wait = Duration::from_secs_f64(-b.tokens / b.rate.per_second);
        let half_burst = Duration::from_secs_f64(b.rate.burst / 2.0 / b.rate.per_second);
        if half_burst < TICK {
            return crate::slot::on_tick(wait, half_burst);
        }
        crate::slot::on_grid(wait, (wait / 4).max(TICK).min(half_burst))
    }

    pub async fn acquire(&self, service: &str, action: &str) {
        let (name, rate) = family(service, action);
        let wait = self.take(&name, rate);
        if !wait.is_zero() {
            tracing::debug!(family = %name, wait_ms = wait.as_millis() as u64, "waiting for AWS's rate limit");
            crate::slot::idle(wait).await;
        }
    }
}

/// The signing name of a service, from the name its SDK crate gives it in `Metadata`.
pub fn signing_name(sdk_service: &str) -> String {
    match sdk_service {
        "CloudWatch Logs" => "logs".into(),
        "Auto Scaling" => "autoscaling".into(),
        "Elastic Load Balancing v2" => "elasticloadbalancing".into(),
        "Application Auto Scaling" => "application-autoscaling".into(),
        "Resource Groups Tagging API" => "tagging".into(),
        other => other.to_ascii_lowercase().replace(' ', "-"),
    }
}

/// The identity cache every client of the run shares: an attempt waits for its family's
/// token, then gets its credentials from the SDK's usual lazy cache and is signed at once.
#[derive(Debug)]
pub struct Gate {
    inner: SharedIdentityCache,
    limits: Arc<Limits>,
}

impl Gate {
    pub fn new(limits: Arc<Limits>) -> Self {
        Gate {
            inner: aws_config::identity::IdentityCache::lazy().build(),
            limits,
        }
    }
}

impl ResolveCachedIdentity for Gate {
    fn resolve_cached_identity<'a>(
        &'a self,
        resolver: SharedIdentityResolver,
        runtime_components: &'a RuntimeComponents,
        config_bag: &'a ConfigBag,
    ) -> IdentityFuture<'a> {
        let op = config_bag
            .load::<Metadata>()
            .map(|m| (signing_name(m.service()), m.name().to_string()));
        IdentityFuture::new(async move {
            if let Some((service, action)) = op {
                self.limits.acquire(&service, &action).await;
            }
            self.inner
                .resolve_cached_identity(resolver, runtime_components, config_bag)
                .await
        })
    }
}
