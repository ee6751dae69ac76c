//! provision: container stacks on AWS ECS from a short YAML stack file.
//!
//! stack (load, validate, expand) -> plan (desired vs observed) -> exec (concurrent, with
//! state after every step). `resources` is the only module that calls the AWS SDK.

pub mod aws;
pub mod cli;
pub mod desired;
pub mod events;
pub mod exec;
pub mod graph;
pub mod plan;
pub mod provider;
pub mod resources;
pub mod slot;
pub mod stack;
pub mod state;
