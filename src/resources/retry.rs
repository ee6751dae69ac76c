//! Retrying deletions that AWS refuses while something is still letting go of the
//! resource (a Fargate task's network interface detaches minutes after the task stops).

use crate::provider::{CloudError, Target};
use std::future::Future;
use std::time::{Duration, Instant};

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
    let started = Instant::now();
    let mut delay = Duration::from_secs(2);
    let mut told = false;
    loop {
        match call().await {
            Err(e)
                if e.code.as_deref().is_some_and(|c| IN_USE.contains(&c))
                    && started.elapsed() < PATIENCE =>
            {
                if !told {
                    println!(
                        "    … {}: {op} refused ({}); waiting for AWS to release it",
                        t.id, e.message
                    );
                    told = true;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
            other => return other,
        }
    }
}
