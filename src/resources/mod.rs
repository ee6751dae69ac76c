//! The only code that calls the AWS SDK: one file per resource kind, each a type behind
//! `kind::Owned` or `kind::Lookup`, and the registry below, which makes the engine know
//! them: adding a kind is its file plus one line in `kinds!`.

pub(crate) mod ec2_tags;
mod error;
pub mod kind;
pub mod partition;
mod props;
mod registry;
mod retry;
pub mod s3_object;
mod service_polls;
pub mod wait;

pub use error::cloud;

use crate::aws::Clients;
use crate::provider::{CloudError, Target};

pub const TAG_STACK: &str = "provision:stack";
pub const TAG_ID: &str = "provision:id";

/// The cloud the engine talks to. Lookups (the account, the zones, the default VPC) and
/// discovery are asked once per run through `c.memo`: they do not change within a run,
/// and recovery and the plan both ask for them.
pub struct Aws {
    pub c: Clients,
}

impl Aws {
    pub fn new(c: Clients) -> Self {
        Aws { c }
    }
}

/// The tags every owned resource carries: the stack, the logical id, and the user's own.
pub fn tags_for(t: &Target) -> Vec<(String, String)> {
    let mut tags = vec![
        (TAG_STACK.to_string(), t.stack.clone()),
        (TAG_ID.to_string(), t.id.clone()),
    ];
    tags.extend(t.tags.iter().cloned());
    tags
}

/// The refusal to adopt a same-named resource the stack did not create: `what` names it
/// ("an ECS cluster named hello").
pub fn foreign(t: &Target, operation: &str, what: String, hint: &str) -> CloudError {
    error::own(
        &t.id,
        operation,
        format!(
            "{what} already exists and does not belong to stack {}",
            t.stack
        ),
        hint,
    )
}

/// Tags of any SDK whose `Tag` has `key()` and `value()` returning `Option<&str>` (EC2, ECS,
/// RDS, Auto Scaling), as pairs. The crates' `Tag` types differ, so a macro, not a function.
#[macro_export]
#[doc(hidden)]
macro_rules! tag_pairs {
    ($tags:expr) => {
        $tags
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<(String, String)>>()
    };
}

/// What `K::discover` finds for `stack`, asked of AWS once per run: kinds found through
/// others (listeners through load balancers, services through clusters) and the kinds
/// themselves share one discovery. Discovery happens at plan time, before anything changes.
pub async fn discovered<K: kind::Owned + kind::KindOf>(
    c: &Clients,
    stack: &str,
) -> Result<Vec<kind::Found>, CloudError> {
    let key = format!("discover/{:?}/{stack}", K::KIND);
    c.memo
        .once(&key, || K::discover(c, stack))
        .await?
        .ok_or_else(|| memo_bug(stack, &key))
}

/// A memo asked for another type than it holds: a bug in provision, said as an error.
pub(crate) fn memo_bug(resource: &str, key: &str) -> CloudError {
    CloudError {
        resource: resource.to_string(),
        operation: "reading an answer remembered for the run".into(),
        code: None,
        message: format!("the answer remembered as {key} has another type"),
        hint: Some("this is a bug in provision; please report it".into()),
    }
}

/// The resource as found, when its tags say `stack` owns it.
pub fn found_in(
    tags: &[(String, String)],
    stack: &str,
    physical_id: Option<&str>,
) -> Option<kind::Found> {
    let get = |k: &str| tags.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    if get(TAG_STACK) != Some(stack) {
        return None;
    }
    Some(kind::Found {
        id: get(TAG_ID)?.to_string(),
        physical_id: physical_id.filter(|p| !p.is_empty())?.to_string(),
        outputs: Default::default(),
    })
}

/// Whether tags read from AWS say the resource is this one of this stack.
pub fn owned_by(tags: &[(String, String)], t: &Target) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|(a, b)| a == k && b == v);
    has(TAG_STACK, &t.stack) && has(TAG_ID, &t.id)
}

// The registry: one line per kind, naming its file and its type. The file's `pub mod`,
// `Kind`, its questions and the dispatch of the engine's calls are generated from it
// (registry.rs).
crate::kinds! {
    owned {
        Vpc => vpc::Vpc,
        Subnet => subnet::Subnet,
        InternetGateway => internet_gateway::InternetGateway,
        RouteTable => route_table::RouteTable,
        RouteTableAssociation => route_table_association::RouteTableAssociation,
        SecurityGroup => security_group::SecurityGroup,
        IamRole => iam_role::IamRole,
        LogGroup => log_group::LogGroup,
        EcsCluster => ecs_cluster::EcsCluster,
        TaskDefinition => task_definition::TaskDefinition,
        EcsService => ecs_service::EcsService,
        RolePolicy => role_policy::RolePolicy,
        InstanceProfile => instance_profile::InstanceProfile,
        LaunchTemplate => launch_template::LaunchTemplate,
        AutoScalingGroup => autoscaling_group::AutoScalingGroup,
        CapacityProvider => capacity_provider::CapacityProvider,
        ClusterCapacityProviders => cluster_capacity::ClusterCapacityProviders,
        DbSubnetGroup => db_subnet_group::DbSubnetGroup,
        DbInstance => db_instance::DbInstance,
        LoadBalancer => load_balancer::LoadBalancer,
        TargetGroup => target_group::TargetGroup,
        Listener => listener::Listener,
        ListenerRule => listener_rule::ListenerRule,
        ScalableTarget => scalable_target::ScalableTarget,
        ScalingPolicy => scaling_policy::ScalingPolicy,
    }
    lookups {
        Account => account::Account,
        DefaultVpc => default_vpc::DefaultVpc,
        AvailabilityZones => zones::AvailabilityZones,
        ExistingRole => existing_role::ExistingRole,
        SsmParameter => ssm_parameter::SsmParameter,
    }
}
