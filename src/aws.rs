//! The SDK configuration: region, profile, endpoint override, and the clients.

pub mod limits;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// The local emulator: dummy credentials, region us-east-1 unless given.
    pub local: bool,
}

pub const LOCAL_REGION: &str = "us-east-1";

pub async fn load(s: &Settings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = &s.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &s.region {
        loader = loader.region(Region::new(r.clone()));
    } else if s.local {
        loader = loader.region(Region::new(LOCAL_REGION));
    }
    if let Some(e) = &s.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    // Throttling, 5xx and dropped connections are retried with backoff and jitter. Eight
    // attempts ride out a burst of them; AWS_MAX_ATTEMPTS and AWS_RETRY_MODE still win.
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none()
        && std::env::var_os("AWS_RETRY_MODE").is_none()
    {
        loader = loader.retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(std::time::Duration::from_millis(200)),
        );
    }
    if s.local {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            "test",
            "test",
            None,
            None,
            "provision-local",
        ));
    }
    // The upload half of stalled-stream protection wakes every 100 ms for as long as a
    // request is in flight, though its body of a few hundred bytes was sent at once and
    // there is nothing left to watch (measured: 3 ms of CPU per second of waiting, which a
    // rate-limited large stack pays for minutes). The download half stays.
    loader = loader.stalled_stream_protection(
        aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
            .upload_enabled(false)
            .build(),
    );
    // Every client of the run shares one set of AWS's rate limits (see limits.rs), kept by
    // the identity cache, so that a request waits for its token before it is signed.
    loader
        .identity_cache(limits::Gate::new(Default::default()))
        .http_client(https_client())
        .load()
        .await
}

/// The client the SDK would use by default: hyper 1 with rustls (aws-lc), honouring the
/// HTTP(S)_PROXY variables, with the timeouts and sleep the SDK gives it.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
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

#[derive(Clone)]
pub struct Clients {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub rds: aws_sdk_rds::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub s3: aws_sdk_s3::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub scaling: aws_sdk_applicationautoscaling::Client,
    /// The Resource Groups Tagging API: what carries a tag, for kinds that cannot be
    /// listed by tag otherwise (ECS clusters).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Answers shared within the run (see `Memo`).
    pub memo: Memo,
}

type Cell = std::sync::Arc<tokio::sync::OnceCell<std::sync::Arc<dyn std::any::Any + Send + Sync>>>;

/// Answers asked for more than once in a run, asked of AWS once: what discovery finds of
/// a kind (load balancers, for their listeners too; clusters, for their services too).
/// Callers at the same time share the one request in flight; a failure is not kept.
#[derive(Clone, Default)]
pub struct Memo(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Cell>>>);

impl Memo {
    /// The answer under `key`, from `ask` the first time. One type per key; `None` if a
    /// caller asks for another type (a bug), so the caller can say so.
    pub async fn once<T, E, F, Fut>(&self, key: &str, ask: F) -> Result<Option<T>, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let cell = {
            let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(key.to_string()).or_default().clone()
        };
        let got = cell
            .get_or_try_init(|| async {
                ask().await.map(|v| {
                    std::sync::Arc::new(v) as std::sync::Arc<dyn std::any::Any + Send + Sync>
                })
            })
            .await?;
        Ok(got.downcast_ref::<T>().cloned())
    }
}

/// Each client logs its calls through `CallLog`.
macro_rules! client {
    ($krate:ident, $conf:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($conf)
                .interceptor(CallLog)
                .build(),
        )
    };
}

impl Clients {
    pub fn new(conf: &SdkConfig) -> Self {
        Clients {
            region: conf.region().map(|r| r.to_string()).unwrap_or_default(),
            ec2: client!(aws_sdk_ec2, conf),
            ecs: client!(aws_sdk_ecs, conf),
            iam: client!(aws_sdk_iam, conf),
            logs: client!(aws_sdk_cloudwatchlogs, conf),
            sts: client!(aws_sdk_sts, conf),
            autoscaling: client!(aws_sdk_autoscaling, conf),
            rds: client!(aws_sdk_rds, conf),
            ssm: client!(aws_sdk_ssm, conf),
            elb: client!(aws_sdk_elasticloadbalancingv2, conf),
            scaling: client!(aws_sdk_applicationautoscaling, conf),
            tagging: client!(aws_sdk_resourcegroupstagging, conf),
            memo: Memo::default(),
            // An endpoint of one's own (the emulator) takes the bucket in the path.
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(conf)
                    .force_path_style(conf.endpoint_url().is_some())
                    .interceptor(CallLog)
                    .build(),
            ),
        }
    }
}

/// Logs every AWS call once it is over: service, operation, duration, attempts, outcome
/// (`-v`, or RUST_LOG=provision::aws=debug).
#[derive(Debug)]
struct CallLog;

#[derive(Debug, Clone)]
struct CallStarted(std::time::Instant);

impl aws_smithy_types::config_bag::Storable for CallStarted {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "provision-call-log"
    }

    fn read_before_execution(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(CallStarted(std::time::Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_string(), m.name().to_string()))
            .unwrap_or_default();
        let ms = cfg
            .load::<CallStarted>()
            .map_or(0, |s| s.0.elapsed().as_millis());
        let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        let ok = matches!(ctx.output_or_error(), Some(Ok(_)));
        tracing::debug!(target: "provision::aws", %service, %operation, ms, attempts, ok, "AWS call");
        Ok(())
    }
}
