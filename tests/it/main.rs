//! The one integration-test binary: unit tests of the engine (fast, no I/O) and
//! end-to-end tests of the real binary against the local emulator.

// The emulator tests hold CALL_LOG across awaits on purpose: it serializes the tests
// that read the emulator's request log against the others.
#![allow(clippy::await_holding_lock)]

mod batched_reads;
mod ci_example;
mod delays;
mod destroy_order;
mod diff;
mod discovery;
mod emulator;
mod exec;
mod fake;
mod fargate;
mod faults;
mod fresh_account;
mod graph;
mod inputs;
mod journal;
mod json_output;
mod leftovers;
mod locking;
mod overrides;
mod partition;
mod plan_snapshots;
mod rate_limits;
mod real_aws;
mod recovery;
mod replace;
mod resume;
mod s3_state;
mod strict;
mod upgrade;
mod validate;
mod validate_web;
mod validate_wordpress;
mod waiting;
mod web;
mod wordpress;
mod zones;
