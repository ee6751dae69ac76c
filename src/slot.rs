//! A running step's share of the run's parallelism (`--parallelism`). A step that sleeps,
//! for a rate-limit token or between two polls of a wait, gives its share back meanwhile
//! and takes one again before it goes on: steps that could send a request now are not
//! held behind steps that cannot. (A large stack's 200 task definitions, registered at
//! AWS's 1 a second, used to hold every share while their log groups' steps queued for
//! tokens, and the VPC started 200 s late.)
//!
//! The share follows the step's task (a task-local), so the rate limiter, deep in the SDK
//! call, finds it without being passed it. Outside a step (plan reads, tests), sleeping
//! is just sleeping.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    static SLOT: Arc<Slot>;
}

/// One step's share: a permit of the walk's pool, while the step is not sleeping.
#[derive(Debug)]
pub struct Slot {
    pool: Arc<Semaphore>,
    held: Mutex<Option<OwnedSemaphorePermit>>,
}

impl Slot {
    pub fn new(pool: Arc<Semaphore>, permit: OwnedSemaphorePermit) -> Arc<Self> {
        Arc::new(Slot {
            pool,
            held: Mutex::new(Some(permit)),
        })
    }

    fn held(&self) -> MutexGuard<'_, Option<OwnedSemaphorePermit>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn holds(&self) -> bool {
        self.held().is_some()
    }
}

/// Runs `fut` as the holder of `slot`; the share goes back when `fut` ends.
pub async fn scope<F: Future>(slot: Arc<Slot>, fut: F) -> F::Output {
    SLOT.scope(slot, fut).await
}

/// The finest and coarsest grids `on_grid` puts wake-ups on.
const GRID_FINEST: Duration = Duration::from_micros(62_500);
const GRID_COARSEST: Duration = Duration::from_secs(4);

/// `delay`, put off to the next tick of the coarsest grid no coarser than `coarsest`, of
/// grids shared by the whole process: sleepers whose wake-ups fall within one tick wake
/// together, and share the process's wake-up (and, where their calls can be batched, one
/// call). The grids nest (62.5 ms, doubled up to 4 s: every tick of a coarse grid is a
/// tick of the finer ones), so sleepers on different grids still meet on the coarse
/// ticks. Finer than 62.5 ms: `delay` as it is.
pub fn on_grid(delay: Duration, coarsest: Duration) -> Duration {
    let coarsest = coarsest.min(GRID_COARSEST);
    let mut grid = GRID_FINEST;
    if coarsest < grid {
        return delay;
    }
    while grid * 2 <= coarsest {
        grid *= 2;
    }
    on_tick(delay, grid)
}

/// `delay`, put off to the next multiple of `tick` counted from one instant for the whole
/// process (the grids of `on_grid` among them).
pub fn on_tick(delay: Duration, tick: Duration) -> Duration {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let now = std::time::Instant::now();
    let epoch = *EPOCH.get_or_init(|| now);
    let tick = tick.as_secs_f64();
    if tick <= 0.0 {
        return delay;
    }
    let due = (now + delay).duration_since(epoch).as_secs_f64();
    (epoch + Duration::from_secs_f64((due / tick).ceil() * tick)).saturating_duration_since(now)
}

/// Sleeps for `d` with the current step's share given back. Two parts of one step may
/// sleep at once: the first gives the share back, the first awake takes one again, and
/// the other goes on with it.
pub async fn idle(d: Duration) {
    let slot = SLOT.try_with(Arc::clone).ok();
    if let Some(s) = &slot {
        drop(s.held().take());
    }
    tokio::time::sleep(d).await;
    if let Some(s) = slot {
        if s.holds() {
            return;
        }
        // The pool is never closed, so this only waits.
        if let Ok(p) = s.pool.clone().acquire_owned().await {
            let mut held = s.held();
            if held.is_none() {
                *held = Some(p);
            }
        }
    }
}
