//! Desired vs observed -> actions, and their rendering.

pub mod action;
pub mod build;
pub mod diff;
pub mod recover;
pub mod render;

pub use action::Action;
pub use build::{Plan, Step, plan_down, plan_up, state_graph};
