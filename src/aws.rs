//! The SDK configuration: region, profile, endpoint override, and the clients.

use aws_config::{BehaviorVersion, Region, SdkConfig};

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
    loader.load().await
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
}

impl Clients {
    pub fn new(conf: &SdkConfig) -> Self {
        Clients {
            region: conf.region().map(|r| r.to_string()).unwrap_or_default(),
            ec2: aws_sdk_ec2::Client::new(conf),
            ecs: aws_sdk_ecs::Client::new(conf),
            iam: aws_sdk_iam::Client::new(conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(conf),
            sts: aws_sdk_sts::Client::new(conf),
            autoscaling: aws_sdk_autoscaling::Client::new(conf),
            rds: aws_sdk_rds::Client::new(conf),
            ssm: aws_sdk_ssm::Client::new(conf),
        }
    }
}
