//! The only code that calls the AWS SDK: one file per resource kind, and `Aws`, which
//! dispatches the engine's calls to them by kind.

mod ec2_tags;
mod error;
mod props;
mod retry;
mod wait;

mod account;
mod autoscaling_group;
mod capacity_provider;
mod cluster_capacity;
mod db_instance;
mod db_subnet_group;
mod default_vpc;
mod ecs_cluster;
mod ecs_service;
mod existing_role;
mod iam_role;
mod instance_profile;
mod internet_gateway;
mod launch_template;
mod log_group;
mod role_policy;
mod route_table;
mod security_group;
mod ssm_parameter;
mod subnet;
mod task_definition;
mod vpc;
mod zones;

pub use error::cloud;

use crate::aws::Clients;
use crate::desired::Kind;
use crate::provider::{Applied, CloudError, Provider, Target};
use crate::state::Entry;
use serde_json::{Map, Value as Json};
use std::time::Duration;

pub const TAG_STACK: &str = "provision:stack";
pub const TAG_ID: &str = "provision:id";

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

/// Whether tags read from AWS say the resource is this one of this stack.
pub fn owned_by(tags: &[(String, String)], t: &Target) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|(a, b)| a == k && b == v);
    has(TAG_STACK, &t.stack) && has(TAG_ID, &t.id)
}

impl Provider for Aws {
    async fn lookup(
        &self,
        id: &str,
        kind: Kind,
        props: &Json,
    ) -> Result<Map<String, Json>, CloudError> {
        match kind {
            Kind::Account => account::lookup(&self.c).await,
            Kind::DefaultVpc => default_vpc::lookup(&self.c).await,
            Kind::AvailabilityZones => zones::lookup(&self.c).await,
            Kind::ExistingRole => existing_role::lookup(&self.c, id, props).await,
            Kind::SsmParameter => ssm_parameter::lookup(&self.c, id, props).await,
            other => Err(error::own(
                id,
                "lookup",
                format!("{} is not a lookup", other.label()),
                "this is a bug in provision",
            )),
        }
    }

    async fn read(&self, id: &str, e: &Entry) -> Result<Option<Map<String, Json>>, CloudError> {
        let c = &self.c;
        let observed = match e.kind {
            Kind::Vpc => vpc::read(c, id, e).await?,
            Kind::Subnet => subnet::read(c, id, e).await?,
            Kind::InternetGateway => internet_gateway::read(c, id, e).await?,
            Kind::RouteTable => route_table::read(c, id, e).await?,
            Kind::SecurityGroup => security_group::read(c, id, e).await?,
            Kind::IamRole => iam_role::read(c, id, e).await?,
            Kind::LogGroup => log_group::read(c, id, e).await?,
            Kind::EcsCluster => ecs_cluster::read(c, id, e).await?,
            Kind::TaskDefinition => task_definition::read(c, id, e).await?,
            Kind::EcsService => ecs_service::read(c, id, e).await?,
            Kind::RolePolicy => role_policy::read(c, id, e).await?,
            Kind::InstanceProfile => instance_profile::read(c, id, e).await?,
            Kind::LaunchTemplate => launch_template::read(c, id, e).await?,
            Kind::AutoScalingGroup => autoscaling_group::read(c, id, e).await?,
            Kind::CapacityProvider => capacity_provider::read(c, id, e).await?,
            Kind::ClusterCapacityProviders => cluster_capacity::read(c, id, e).await?,
            Kind::DbSubnetGroup => db_subnet_group::read(c, id, e).await?,
            Kind::DbInstance => db_instance::read(c, id, e).await?,
            Kind::Account
            | Kind::DefaultVpc
            | Kind::AvailabilityZones
            | Kind::ExistingRole
            | Kind::SsmParameter => None,
        };
        // What AWS does not report back is taken as last applied.
        Ok(observed.map(|o| props::overlay(&e.props, &Json::Object(o))))
    }

    async fn create(&self, t: &Target, p: &Json) -> Result<Applied, CloudError> {
        let c = &self.c;
        match t.kind {
            Kind::Vpc => vpc::create(c, t, p).await,
            Kind::Subnet => subnet::create(c, t, p).await,
            Kind::InternetGateway => internet_gateway::create(c, t, p).await,
            Kind::RouteTable => route_table::create(c, t, p).await,
            Kind::SecurityGroup => security_group::create(c, t, p).await,
            Kind::IamRole => iam_role::create(c, t, p).await,
            Kind::LogGroup => log_group::create(c, t, p).await,
            Kind::EcsCluster => ecs_cluster::create(c, t, p).await,
            Kind::TaskDefinition => task_definition::create(c, t, p).await,
            Kind::EcsService => ecs_service::create(c, t, p).await,
            Kind::RolePolicy => role_policy::create(c, t, p).await,
            Kind::InstanceProfile => instance_profile::create(c, t, p).await,
            Kind::LaunchTemplate => launch_template::create(c, t, p).await,
            Kind::AutoScalingGroup => autoscaling_group::create(c, t, p).await,
            Kind::CapacityProvider => capacity_provider::create(c, t, p).await,
            Kind::ClusterCapacityProviders => cluster_capacity::create(c, t, p).await,
            Kind::DbSubnetGroup => db_subnet_group::create(c, t, p).await,
            Kind::DbInstance => db_instance::create(c, t, p).await,
            other => Err(not_owned(t, other)),
        }
    }

    async fn update(&self, t: &Target, e: &Entry, p: &Json) -> Result<Applied, CloudError> {
        let c = &self.c;
        match t.kind {
            Kind::Vpc => vpc::update(c, t, e, p).await,
            Kind::Subnet => subnet::update(c, t, e, p).await,
            Kind::InternetGateway => Ok(props::unchanged(e)),
            Kind::RouteTable => route_table::update(c, t, e, p).await,
            Kind::SecurityGroup => security_group::update(c, t, e, p).await,
            Kind::IamRole => iam_role::update(c, t, e, p).await,
            Kind::LogGroup => log_group::update(c, t, e, p).await,
            Kind::EcsCluster => Ok(props::unchanged(e)),
            // A task definition is immutable: an update registers the next revision.
            Kind::TaskDefinition => task_definition::create(c, t, p).await,
            Kind::EcsService => ecs_service::update(c, t, e, p).await,
            Kind::RolePolicy => role_policy::update(c, t, e, p).await,
            Kind::InstanceProfile => instance_profile::update(c, t, e, p).await,
            Kind::LaunchTemplate => launch_template::update(c, t, e, p).await,
            Kind::AutoScalingGroup => autoscaling_group::update(c, t, e, p).await,
            // Changing the group means a new capacity provider (replace).
            Kind::CapacityProvider => Ok(props::unchanged(e)),
            Kind::ClusterCapacityProviders => cluster_capacity::create(c, t, p).await,
            Kind::DbSubnetGroup => db_subnet_group::update(c, t, e, p).await,
            Kind::DbInstance => db_instance::update(c, t, e, p).await,
            other => Err(not_owned(t, other)),
        }
    }

    async fn delete(&self, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let c = &self.c;
        match t.kind {
            Kind::Vpc => vpc::delete(c, t, e).await,
            Kind::Subnet => subnet::delete(c, t, e).await,
            Kind::InternetGateway => internet_gateway::delete(c, t, e).await,
            Kind::RouteTable => route_table::delete(c, t, e).await,
            Kind::SecurityGroup => security_group::delete(c, t, e).await,
            Kind::IamRole => iam_role::delete(c, t, e).await,
            Kind::LogGroup => log_group::delete(c, t, e).await,
            Kind::EcsCluster => ecs_cluster::delete(c, t, e).await,
            Kind::TaskDefinition => task_definition::delete(c, t, e).await,
            Kind::EcsService => ecs_service::delete(c, t, e).await,
            Kind::RolePolicy => role_policy::delete(c, t, e).await,
            Kind::InstanceProfile => instance_profile::delete(c, t, e).await,
            Kind::LaunchTemplate => launch_template::delete(c, t, e).await,
            Kind::AutoScalingGroup => autoscaling_group::delete(c, t, e).await,
            Kind::CapacityProvider => capacity_provider::delete(c, t, e).await,
            Kind::ClusterCapacityProviders => cluster_capacity::delete(c, t, e).await,
            Kind::DbSubnetGroup => db_subnet_group::delete(c, t, e).await,
            Kind::DbInstance => db_instance::delete(c, t, e).await,
            // Lookups are never owned, so never deleted.
            Kind::Account
            | Kind::DefaultVpc
            | Kind::AvailabilityZones
            | Kind::ExistingRole
            | Kind::SsmParameter => Ok(()),
        }
    }

    async fn live_outputs(&self, id: &str, e: &Entry) -> Result<Map<String, Json>, CloudError> {
        match e.kind {
            Kind::EcsService => ecs_service::live_outputs(&self.c, id, e).await,
            _ => Ok(Map::new()),
        }
    }

    async fn wait_ready(
        &self,
        t: &Target,
        a: &Applied,
        timeout: Duration,
    ) -> Result<(), CloudError> {
        match t.kind {
            Kind::EcsService => ecs_service::wait_stable(&self.c, t, a, timeout).await,
            _ => Ok(()),
        }
    }
}

fn not_owned(t: &Target, kind: Kind) -> CloudError {
    error::own(
        &t.id,
        "create",
        format!("{} is looked up, not created", kind.label()),
        "this is a bug in provision",
    )
}
