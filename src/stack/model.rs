//! The stack file as the user writes it. Every struct rejects unknown keys, and the
//! values that validation may complain about keep their YAML location (`Spanned`).

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub type Located<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackFile {
    pub stack: Located<String>,
    #[serde(default)]
    pub network: Option<Network>,
    #[serde(default)]
    pub security_groups: IndexMap<String, Located<SecurityGroup>>,
    /// The ECS cluster's name; the stack's name when left out.
    #[serde(default)]
    pub cluster: Option<Located<String>>,
    /// EC2 container instances for services with `launch_type: ec2`.
    #[serde(default)]
    pub instances: Option<Located<Instances>>,
    #[serde(default)]
    pub databases: IndexMap<String, Located<Database>>,
    #[serde(default)]
    pub services: IndexMap<String, Located<Service>>,
    /// The load balancer in front of the services that have `expose:`.
    #[serde(default)]
    pub load_balancer: Option<Located<LoadBalancer>>,
    /// Extra tags put on every resource the stack creates.
    #[serde(default)]
    pub tags: IndexMap<String, Located<String>>,
    /// Where the state is kept: `s3://BUCKET/KEY` (for CI), or a file path.
    #[serde(default)]
    pub state: Option<Located<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub vpc: Located<VpcChoice>,
}

#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "`default`, or a VPC of the stack's own such as { cidr: 10.0.0.0/16, public_subnets: 2 }"
)]
pub enum VpcChoice {
    Named(String),
    Own(OwnVpc),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnVpc {
    pub cidr: String,
    #[serde(default = "default_public_subnets")]
    pub public_subnets: u8,
    #[serde(default)]
    pub private_subnets: u8,
}

fn default_public_subnets() -> u8 {
    2
}

/// An Auto Scaling group of ECS-optimized instances that join the cluster.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instances {
    pub instance_type: Located<String>,
    #[serde(default = "one")]
    pub min: u32,
    #[serde(default = "one")]
    pub max: u32,
    #[serde(default)]
    pub desired: Option<u32>,
    /// `public` (the default), `private`, or subnet names.
    #[serde(default)]
    pub subnets: Option<Vec<Located<String>>>,
    pub security_groups: Vec<Located<String>>,
    /// An existing EC2 key pair for SSH; none when left out.
    #[serde(default)]
    pub key_pair: Option<String>,
    #[serde(default)]
    pub cpu_architecture: Architecture,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Mysql,
    Mariadb,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Postgres => "postgres",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            _ => 3306,
        }
    }
}

/// An RDS instance whose master password RDS keeps in Secrets Manager.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub engine: Engine,
    #[serde(default)]
    pub engine_version: Option<String>,
    pub instance_class: Located<String>,
    pub storage_gb: Located<u32>,
    pub db_name: Located<String>,
    pub username: Located<String>,
    /// `private` (the default) or subnet names; at least two availability zones.
    #[serde(default)]
    pub subnets: Option<Vec<Located<String>>>,
    pub security_groups: Vec<Located<String>>,
    /// Take a final snapshot when `down` deletes the database.
    #[serde(default = "yes")]
    pub final_snapshot: bool,
    #[serde(default)]
    pub backup_retention_days: Option<u8>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    #[serde(default)]
    pub description: Option<Located<String>>,
    #[serde(default)]
    pub ingress: Vec<Located<Ingress>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    pub port: u16,
    #[serde(default)]
    pub protocol: Protocol,
    /// An IPv4 range, such as 0.0.0.0/0.
    #[serde(default)]
    pub cidr: Option<String>,
    /// Another security group of this stack, by name.
    #[serde(default)]
    pub from: Option<Located<String>>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LaunchType {
    #[default]
    Fargate,
    Ec2,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    #[default]
    X86_64,
    Arm64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(default = "default_launch_type")]
    pub launch_type: Located<LaunchType>,
    /// Task CPU units (1024 = 1 vCPU).
    #[serde(default)]
    pub cpu: Option<Located<u32>>,
    /// Task memory in MiB.
    #[serde(default)]
    pub memory: Option<Located<u32>>,
    #[serde(default = "one")]
    pub desired_count: u32,
    #[serde(default = "default_false")]
    pub public_ip: Located<bool>,
    #[serde(default)]
    pub security_groups: Vec<Located<String>>,
    /// `public`, `private`, or subnet names such as `public-1`; `public` when left out.
    #[serde(default)]
    pub subnets: Option<Vec<Located<String>>>,
    /// An existing IAM role (name or ARN) used instead of the one the stack creates.
    #[serde(default)]
    pub execution_role: Option<Located<String>>,
    /// The role the containers run as: an existing one (name or ARN), or one the stack
    /// makes with these permissions.
    #[serde(default)]
    pub task_role: Option<Located<TaskRole>>,
    /// Behind the stack's load balancer.
    #[serde(default)]
    pub expose: Option<Located<Expose>>,
    /// Application Auto Scaling of the desired count.
    #[serde(default)]
    pub autoscaling: Option<Located<Autoscaling>>,
    #[serde(default)]
    pub platform_version: Option<String>,
    #[serde(default)]
    pub cpu_architecture: Architecture,
    #[serde(default)]
    pub log_retention_days: Option<Located<i32>>,
    /// Data volumes on the container instance, by name (EC2 launch type).
    #[serde(default)]
    pub volumes: IndexMap<String, Located<Volume>>,
    pub containers: Located<IndexMap<String, Located<Container>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// A folder on the container instance, kept when the container stops.
    pub host_path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    pub volume: Located<String>,
    pub path: String,
    #[serde(default)]
    pub read_only: bool,
}

fn one() -> u32 {
    1
}

fn default_launch_type() -> Located<LaunchType> {
    unknown(LaunchType::default())
}

fn default_false() -> Located<bool> {
    unknown(false)
}

fn unknown<T>(value: T) -> Located<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub image: Located<String>,
    #[serde(default)]
    pub ports: Vec<Located<PortSpec>>,
    #[serde(default)]
    pub essential: Option<bool>,
    #[serde(default)]
    pub cpu: Option<u32>,
    /// Hard memory limit in MiB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// Soft memory limit in MiB.
    #[serde(default)]
    pub memory_reservation: Option<u32>,
    /// Values may hold references such as `${databases.wpdb.endpoint}`.
    #[serde(default)]
    pub environment: IndexMap<String, Located<String>>,
    /// Environment variables read from Secrets Manager or SSM at start: an ARN, or a
    /// reference such as `${databases.wpdb.password_secret}`.
    #[serde(default)]
    pub secrets: IndexMap<String, Located<String>>,
    #[serde(default)]
    pub mounts: Vec<Located<Mount>>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub entry_point: Option<Vec<String>>,
    /// Docker's health check, run by ECS inside the container.
    #[serde(default)]
    pub health_check: Option<Located<ContainerHealthCheck>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerHealthCheck {
    /// A shell command (run with CMD-SHELL) that exits 0 when the container is healthy.
    pub command: Located<String>,
    /// Seconds between checks (5 to 300; 30 when left out).
    #[serde(default)]
    pub interval: Option<Located<u32>>,
    /// Seconds a check may take (2 to 60; 5 when left out).
    #[serde(default)]
    pub timeout: Option<Located<u32>>,
    /// Failed checks before the container is unhealthy (1 to 10; 3 when left out).
    #[serde(default)]
    pub retries: Option<Located<u32>>,
    /// Seconds after start when failures do not count (0 to 300; 0 when left out).
    #[serde(default)]
    pub start_period: Option<Located<u32>>,
}

/// The stack's internet-facing Application Load Balancer.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    /// An ACM certificate: HTTPS on 443, and HTTP on 80 redirects to it.
    #[serde(default)]
    pub certificate_arn: Option<Located<String>>,
    /// The address ranges admitted to it; everyone (0.0.0.0/0) when left out.
    #[serde(default)]
    pub allow: Vec<Located<String>>,
}

/// How a service is reached through the load balancer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expose {
    /// The container port that receives the requests.
    pub port: Located<u16>,
    /// Requests whose path matches go to this service (`/api/*`); `/*` when neither
    /// `path` nor `host` is given.
    #[serde(default)]
    pub path: Option<Located<String>>,
    /// Requests for this host name go to this service (`www.example.com`).
    #[serde(default)]
    pub host: Option<Located<String>>,
    #[serde(default)]
    pub health_check: Option<Located<TargetHealthCheck>>,
    /// Seconds a stopping task keeps its requests (0 to 3600; 30 when left out).
    #[serde(default)]
    pub deregistration_delay: Option<Located<u32>>,
    /// Seconds after a task starts when failed load balancer health checks do not count
    /// (60 when left out).
    #[serde(default)]
    pub grace_period: Option<Located<u32>>,
}

/// The load balancer's health check of each task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetHealthCheck {
    /// `/` when left out.
    #[serde(default)]
    pub path: Option<Located<String>>,
    /// HTTP codes that count as healthy (`200`, `200-399`, `200,302`); `200` when left out.
    #[serde(default)]
    pub healthy_codes: Option<Located<String>>,
    /// Seconds between checks (5 to 300; 15 when left out).
    #[serde(default)]
    pub interval: Option<Located<u32>>,
    /// Successes before a task gets requests (2 to 10; 2 when left out).
    #[serde(default)]
    pub healthy_threshold: Option<Located<u32>>,
    /// Failures before it stops getting them (2 to 10; 3 when left out).
    #[serde(default)]
    pub unhealthy_threshold: Option<Located<u32>>,
}

/// Application Auto Scaling of a service's desired count, by target tracking.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    pub min: Located<u32>,
    pub max: Located<u32>,
    /// Average CPU use to hold, in percent.
    #[serde(default)]
    pub cpu: Option<Located<u32>>,
    /// Average memory use to hold, in percent.
    #[serde(default)]
    pub memory: Option<Located<u32>>,
    /// Requests per task per minute to hold (needs `expose`).
    #[serde(default)]
    pub requests: Option<Located<u32>>,
}

/// The role a service's containers run as.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "an existing role's name or ARN, or { statements: [{ actions: [s3:GetObject], resources: [arn:aws:s3:::my-bucket/*] }], managed_policies: [ARN] }"
)]
pub enum TaskRole {
    Existing(String),
    Own(OwnTaskRole),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnTaskRole {
    #[serde(default)]
    pub statements: Vec<Located<Statement>>,
    /// ARNs of managed policies to attach.
    #[serde(default)]
    pub managed_policies: Vec<Located<String>>,
}

/// One IAM policy statement that allows `actions` on `resources`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a container port such as 80, or { container: 80, host: 8080, protocol: tcp }"
)]
pub enum PortSpec {
    Port(u16),
    Mapping(PortMapping),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortMapping {
    pub container: u16,
    #[serde(default)]
    pub host: Option<u16>,
    #[serde(default)]
    pub protocol: Protocol,
    /// http, http2 or grpc; http for TCP ports when left out.
    #[serde(default)]
    pub app_protocol: Option<String>,
}

impl PortSpec {
    pub fn container_port(&self) -> u16 {
        match self {
            PortSpec::Port(p) => *p,
            PortSpec::Mapping(m) => m.container,
        }
    }
    pub fn host_port(&self) -> Option<u16> {
        match self {
            PortSpec::Port(_) => None,
            PortSpec::Mapping(m) => m.host,
        }
    }
    pub fn protocol(&self) -> Protocol {
        match self {
            PortSpec::Port(_) => Protocol::Tcp,
            PortSpec::Mapping(m) => m.protocol,
        }
    }
}
