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
