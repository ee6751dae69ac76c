//! What the engine tells while it works. The engine emits these; only `cli/` decides how
//! they look (a live display on a terminal, plain lines in a log, JSON lines for machines).

use serde::Serialize;
use std::sync::Arc;

/// One thing that happened. Serialized as one JSON object per line by `--json`, tagged by
/// `"event"`; the README documents the schema.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The plan is made: what `up` or `down` is about to do.
    PlanReady {
        stack: String,
        create: usize,
        update: usize,
        replace: usize,
        delete: usize,
        unchanged: usize,
    },
    /// A step began: `action` is create, update, replace or delete.
    Started {
        id: String,
        kind: String,
        action: String,
    },
    /// A step is waiting on AWS; `message` says for what (tasks running, a role spreading).
    Progress { id: String, message: String },
    /// A step finished. `physical_id` is AWS's id for what it made (none for a deletion).
    Done {
        id: String,
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        physical_id: Option<String>,
        seconds: f64,
    },
    /// A step failed: the root cause, in a person's words.
    Failed {
        id: String,
        error: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// A step was not attempted because a step it depends on failed.
    Skipped { id: String, because: String },
    /// Ctrl-C: the steps in flight are let finish (a second Ctrl-C abandons them).
    Interrupted { in_flight: usize },
    /// The last event of a command: whether it succeeded, and if not, why.
    Summary {
        ok: bool,
        stack: String,
        changes: usize,
        seconds: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Where the engine sends its events. Cheap to clone; safe to call from any task.
#[derive(Clone)]
pub struct Emitter(Arc<dyn Fn(Event) + Send + Sync>);

impl Emitter {
    pub fn new(f: impl Fn(Event) + Send + Sync + 'static) -> Self {
        Emitter(Arc::new(f))
    }

    /// Drops every event (tests, and reads that report nothing).
    pub fn silent() -> Self {
        Emitter::new(|_| {})
    }

    pub fn emit(&self, e: Event) {
        (self.0)(e)
    }

    /// A progress reporter for one step.
    pub fn progress_for(&self, id: &str) -> Progress {
        let (me, id) = (self.clone(), id.to_string());
        Progress(Arc::new(move |message| {
            me.emit(Event::Progress {
                id: id.clone(),
                message,
            })
        }))
    }
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Emitter")
    }
}

/// How a step tells what it is waiting for: one line of status at a time.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(String) + Send + Sync>);

impl Progress {
    pub fn say(&self, message: impl Into<String>) {
        (self.0)(message.into())
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}
