//! What the engine needs from a cloud, without naming the SDK: look up, read, create,
//! update, delete and wait. `resources::Aws` implements it; plan and exec only see this.

use crate::desired::Kind;
use crate::state::Entry;
use serde_json::{Map, Value as Json};
use std::fmt;
use std::future::Future;

pub use crate::events::Progress;

/// Who a call is for: the stack and the resource's logical id (both become tags), and
/// where the call reports what it waits for.
#[derive(Debug, Clone)]
pub struct Target {
    pub stack: String,
    pub id: String,
    pub kind: Kind,
    pub tags: Vec<(String, String)>,
    pub progress: Progress,
    /// The old resource of a replacement, being deleted right after its users moved to
    /// the new one: AWS may still be letting go of it.
    pub superseded: bool,
    /// Discovery at plan time found nothing of this resource in AWS: a create makes it at
    /// once instead of first looking for one an earlier run made.
    pub absent: bool,
    /// How many resources of this kind the run deletes: a kind may look once for all of
    /// them instead of once each.
    pub deleting: usize,
    /// Where a create records the id AWS returned before its follow-up calls, so that a
    /// failure or a crash between them never loses the resource.
    pub record: Recorder,
    /// Tells the walk that dependents on an early edge may go (see `Owned::EARLY`).
    pub early: crate::graph::Early,
}

impl Target {
    /// A deletion has let go of what it depends on early (a gateway detached from its
    /// VPC): their deletions may start before this one ends.
    pub fn released(&self) {
        self.early.signal();
    }
}

type RecordFn = dyn Fn(
        String,
        Map<String, Json>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), CloudError>> + Send>>
    + Send
    + Sync;

/// Records a resource as made but not finished (see `Target::record`).
#[derive(Clone)]
pub struct Recorder(std::sync::Arc<RecordFn>);

impl Recorder {
    pub fn new(
        f: impl Fn(
            String,
            Map<String, Json>,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), CloudError>> + Send>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Recorder(std::sync::Arc::new(f))
    }

    /// Records nothing (updates, deletions, tests).
    pub fn none() -> Self {
        Recorder::new(|_, _| Box::pin(async { Ok(()) }))
    }

    /// AWS made `physical_id`; follow-up calls come next.
    pub async fn created(
        &self,
        physical_id: &str,
        outputs: &[(&str, Json)],
    ) -> Result<(), CloudError> {
        let outputs = outputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        (self.0)(physical_id.to_string(), outputs).await
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recorder")
    }
}

/// The result of a create or an update.
#[derive(Debug, Clone)]
pub struct Applied {
    pub physical_id: String,
    pub outputs: Map<String, Json>,
}

/// An error from the cloud, in a person's words: which resource, AWS's code and message, what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub struct CloudError {
    pub resource: String,
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// The operations of a deployment that failed or did not settle: `up` exits 3 for them.
pub const DEPLOYMENT: &str = "deployment";
pub const WAITING: &str = "waiting for the service";

impl CloudError {
    /// Whether this is a deployment that failed, was rolled back or did not become stable.
    pub fn is_deployment(&self) -> bool {
        self.operation == DEPLOYMENT || self.operation == WAITING
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} failed", self.resource, self.operation)?;
        match &self.code {
            Some(code) => write!(f, ": {code}: {}", self.message)?,
            None => write!(f, ": {}", self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

pub trait Provider: Send + Sync + 'static {
    /// Reads a lookup (default VPC, account, zones, an existing role): its outputs.
    fn lookup(
        &self,
        id: &str,
        kind: Kind,
        props: &Json,
    ) -> impl Future<Output = Result<Map<String, Json>, CloudError>> + Send;

    /// What exists now for an owned resource, in the shape of its props; `None` if gone.
    fn read(
        &self,
        id: &str,
        entry: &Entry,
    ) -> impl Future<Output = Result<Option<Map<String, Json>>, CloudError>> + Send;

    /// `read` for several resources of one kind, in as few calls as AWS allows (a kind
    /// that says it batches, see `Kind::batches`); by default one `read` each.
    fn read_many(
        &self,
        kind: Kind,
        items: Vec<(String, Entry)>,
    ) -> impl Future<Output = Result<Vec<Option<Map<String, Json>>>, CloudError>> + Send {
        let _ = kind;
        async move {
            let mut out = Vec::with_capacity(items.len());
            for (id, e) in &items {
                out.push(self.read(id, e).await?);
            }
            Ok(out)
        }
    }

    fn create(
        &self,
        target: &Target,
        props: &Json,
    ) -> impl Future<Output = Result<Applied, CloudError>> + Send;

    fn update(
        &self,
        target: &Target,
        entry: &Entry,
        props: &Json,
    ) -> impl Future<Output = Result<Applied, CloudError>> + Send;

    fn delete(
        &self,
        target: &Target,
        entry: &Entry,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Every resource of `kind` that `stack` owns, found by its tags: for recovery when
    /// the state is missing.
    fn discover(
        &self,
        kind: Kind,
        stack: &str,
    ) -> impl Future<Output = Result<Vec<crate::resources::kind::Found>, CloudError>> + Send;

    /// Values that change while the stack runs (a service's task addresses), for `outputs`.
    fn live_outputs(
        &self,
        id: &str,
        entry: &Entry,
    ) -> impl Future<Output = Result<Map<String, Json>, CloudError>> + Send;

    /// Waits until a created or updated resource is ready for use (a service stable),
    /// telling `target.progress` what it waits for.
    fn wait_ready(
        &self,
        target: &Target,
        applied: &Applied,
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}
