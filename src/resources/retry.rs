//! Retrying deletions that AWS refuses while something is still letting go of the
//! resource (a Fargate task's network interface detaches minutes after the task stops).

use super::wait::{self, Budget, Poll};
use crate::provider::{CloudError, Target};
use std::future::Future;
use std::time::Duration;

const IN_USE: &[&str] = &[
    "DependencyViolation",
    "InvalidNetworkInterface.InUse",
    // A terminated instance leaves the cluster a little after the group is gone.
    "ClusterContainsContainerInstancesException",
    "ClusterContainsTasksException",
    "ClusterContainsServicesException",
    "InvalidDBSubnetGroupStateFault",
];
const PATIENCE: Duration = Duration::from_secs(300);

pub async fn while_in_use<F, Fut>(t: &Target, op: &str, mut call: F) -> Result<(), CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), CloudError>>,
{
    wait::until(t, op, Budget::release(PATIENCE), || {
        let attempt = call();
        async move {
            Ok(match attempt.await {
                Ok(()) => Poll::Ready(()),
                Err(e) if e.code.as_deref().is_some_and(|c| IN_USE.contains(&c)) => Poll::Retry(e),
                Err(e) => Poll::Failed(e),
            })
        }
    })
    .await
}
