//! The one place in `resources/` that waits. Every wait (a service stable, a database
//! available) and every retry-until-AWS-lets-go (a group still held by an interface) is a
//! check polled here: fast at first, backing off, bounded by a budget, saying what it
//! waits for whenever that changes.

use crate::provider::{CloudError, Target};
use std::future::Future;
use std::time::{Duration, Instant};

/// What one look found.
pub enum Poll<T> {
    /// Done, with its result.
    Ready(T),
    /// Not yet; the status line says what it waits for.
    Pending(String),
    /// AWS refused for now (still in use); past the budget this error is the answer.
    Retry(CloudError),
    /// AWS refused what was just made (not spread yet); past the budget this error is the answer.
    Spreading(CloudError),
    /// Hopeless: stop now with AWS's reason.
    Failed(CloudError),
}

/// The first pause of the usual waits: most of what AWS does quickly (a task stopping, an
/// interface let go) is over within a second, and a slower thing costs only a few looks
/// more before the pauses reach seconds.
const FIRST: Duration = Duration::from_millis(250);

/// How long to keep looking, and how often.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub total: Duration,
    pub first: Duration,
    pub max: Duration,
    /// How the timeout error describes the state it ended in ("not stable").
    pub not_yet: &'static str,
}

impl Budget {
    pub const fn new(total: Duration, first: Duration, max: Duration) -> Self {
        Budget {
            total,
            first,
            max,
            not_yet: "not done",
        }
    }

    pub const fn saying(mut self, not_yet: &'static str) -> Self {
        self.not_yet = not_yet;
        self
    }

    /// Minutes-long waits on AWS (deployments, load balancers): first look at once, the
    /// next after 250 ms (what is quick is seen quickly), backing off to every 15 s.
    pub const fn long(total: Duration) -> Self {
        Budget::new(total, FIRST, Duration::from_secs(15))
    }

    /// AWS letting go of something (an interface, a role spreading): from 250 ms, at most
    /// every 10 s.
    pub const fn release(total: Duration) -> Self {
        Budget::new(total, FIRST, Duration::from_secs(10))
    }

    /// The pauses between looks: `first`, then half as long again each time, up to `max`.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let max = self.max;
        std::iter::successors(Some(self.first), move |d| Some((*d + *d / 2).min(max)))
    }
}

/// Polls `check` until it is ready or failed, or the budget is spent. `what` names the wait
/// in the timeout error ("waiting for the service", "DeleteVpc").
pub async fn until<T, F, Fut>(
    t: &Target,
    what: &str,
    budget: Budget,
    mut check: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, CloudError>>,
{
    let started = Instant::now();
    let mut delays = budget.delays();
    let mut last = String::new();
    loop {
        let (status, refusal) = match check().await? {
            Poll::Ready(v) => return Ok(v),
            Poll::Failed(e) => return Err(e),
            Poll::Pending(status) => (status, None),
            Poll::Retry(e) => (
                format!(
                    "{} refused ({}); waiting for AWS to release it",
                    e.operation, e.message
                ),
                Some(e),
            ),
            Poll::Spreading(e) => (
                format!(
                    "{} refused ({}); waiting for AWS to spread what was just made",
                    e.operation, e.message
                ),
                Some(e),
            ),
        };
        if status != last {
            t.progress.say(status.clone());
            last = status;
        }
        let spent = started.elapsed();
        if spent >= budget.total {
            return Err(refusal.unwrap_or_else(|| CloudError {
                resource: t.id.clone(),
                operation: what.to_string(),
                code: None,
                message: format!("{} after {}s: {last}", budget.not_yet, budget.total.as_secs()),
                hint: Some(
                    "look at the resource in the AWS console; raise --timeout, or run the command again to keep waiting"
                        .into(),
                ),
            }));
        }
        let delay = aligned(delays.next().unwrap_or(budget.max));
        crate::slot::idle(delay.min(budget.total - spent)).await;
    }
}

/// `delay`, put off to the next tick of a grid shared by the whole process (see
/// `slot::on_grid`), so that polls of different resources falling due close together look
/// at the same moment: those read together (ECS services, ten a call) share one call, and
/// the process wakes once for them all. The grid is at most a quarter of the delay, so a
/// poll comes at most a quarter late.
fn aligned(delay: Duration) -> Duration {
    crate::slot::on_grid(delay, delay / 4)
}
