//! AWS's request rate limits, kept on our side: one token bucket per API family, with the
//! burst and the refill rate AWS publishes (or a conservative guess where it does not).
//! Every request waits for a token before it goes out, so a large stack goes up without
//! being throttled, instead of hitting the limit and backing off.
//!
//! The buckets sit in the HTTP client the SDK clients share: the request is signed by
//! then, and its service (the signature's scope) and operation (the `X-Amz-Target` header
//! or the form's `Action`) name its family.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
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
    fn take(&self, family: &str, rate: Rate) -> Duration {
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
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / b.rate.per_second)
        }
    }

    pub async fn acquire(&self, service: &str, action: &str) {
        let (name, rate) = family(service, action);
        let wait = self.take(&name, rate);
        if !wait.is_zero() {
            tracing::debug!(family = %name, wait_ms = wait.as_millis() as u64, "waiting for AWS's rate limit");
            tokio::time::sleep(wait).await;
        }
    }
}

/// The service and operation of a signed request.
fn identify(req: &HttpRequest) -> (String, String) {
    let h = req.headers();
    let service = h
        .get("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string();
    let action = match h.get("x-amz-target") {
        Some(t) => t.rsplit('.').next().unwrap_or_default().to_string(),
        None => req
            .body()
            .bytes()
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|form| {
                form.split('&')
                    .find_map(|kv| kv.strip_prefix("Action="))
                    .map(str::to_string)
            })
            .unwrap_or_default(),
    };
    (service, action)
}

/// The client the SDK would use by default: hyper 1 with rustls (aws-lc), honouring the
/// HTTP(S)_PROXY variables, with the timeouts and sleep the SDK gives it.
pub fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// An HTTP client whose requests wait for their family's token first.
#[derive(Debug, Clone)]
pub struct Limited {
    inner: SharedHttpClient,
    limits: Arc<Limits>,
}

impl Limited {
    pub fn new(inner: SharedHttpClient, limits: Arc<Limits>) -> Self {
        Limited { inner, limits }
    }
}

impl HttpClient for Limited {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limits: self.limits.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    limits: Arc<Limits>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, limits) = (self.inner.clone(), self.limits.clone());
        HttpConnectorFuture::new(async move {
            let (service, action) = identify(&request);
            limits.acquire(&service, &action).await;
            inner.call(request).await
        })
    }
}
