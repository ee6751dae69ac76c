//! Retrying what AWS refuses while something is still letting go of the resource (a
//! Fargate task's network interface detaches minutes after the task stopped). Which
//! refusals those are, each kind says (`Owned::classify`).

use super::kind::{Owned, Retry};
use super::wait::{self, Budget, Poll};
use crate::provider::{CloudError, Target};
use std::future::Future;
use std::time::Duration;

/// EC2's refusals to delete a network resource something still uses.
pub const EC2_IN_USE: &[&str] = &["DependencyViolation", "InvalidNetworkInterface.InUse"];

const PATIENCE: Duration = Duration::from_secs(300);

pub async fn while_in_use<K: Owned, F, Fut>(
    t: &Target,
    op: &str,
    mut call: F,
) -> Result<(), CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), CloudError>>,
{
    wait::until(t, op, Budget::release(PATIENCE), || {
        let attempt = call();
        async move {
            Ok(match attempt.await {
                Ok(()) => Poll::Ready(()),
                Err(e) => match K::classify(&e) {
                    Retry::UntilReleased => Poll::Retry(e),
                    Retry::No => Poll::Failed(e),
                },
            })
        }
    })
    .await
}

/// How long EC2 may take to make a new resource visible to the calls that follow it.
const SPREAD: Duration = Duration::from_secs(120);

/// A call that follows the create of what it names, retried while EC2 answers
/// `Invalid….NotFound`: EC2 is eventually consistent, and a resource made a moment ago
/// may not be visible yet ("Eventual consistency in the Amazon EC2 API").
pub async fn until_visible<T, F, Fut>(t: &Target, op: &str, mut call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    wait::until(t, op, Budget::release(SPREAD), || {
        let attempt = call();
        async move {
            Ok(match attempt.await {
                Ok(v) => Poll::Ready(v),
                Err(e)
                    if e.code
                        .as_deref()
                        .is_some_and(|c| c.starts_with("Invalid") && c.ends_with(".NotFound")) =>
                {
                    Poll::Pending(format!(
                        "{op}: EC2 does not see what was just made yet ({}); waiting for it to spread",
                        e.code.as_deref().unwrap_or_default()
                    ))
                }
                Err(e) => Poll::Failed(e),
            })
        }
    })
    .await
}
