//! The record of what the stack owns. One writer (`StateWriter`), recorded after every
//! step and readable by the owner only. A file state is the file plus its journal: each
//! step appends one line (`<file>.journal`), fsynced right after on a thread of its own,
//! instead of rewriting the whole file, so a run's cost grows with the stack, not with its
//! square; steps that finish together share one write. The file is rewritten (temp file,
//! fsync, rename) when the journal outgrows it (or 64 KiB while it is smaller) and at the
//! end of a run, a mid-run rewrite's changes journaled first; a crash at any point loses
//! nothing, since reading replays the journal (see `file` for a power loss).

mod file;
pub mod lock;
pub mod remote;

use crate::desired::Kind;
use file::Flush;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct State {
    pub version: u32,
    pub stack: String,
    pub resources: BTreeMap<String, Entry>,
}

/// One resource the stack created and therefore owns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    pub physical_id: String,
    /// The properties as last applied, references resolved.
    pub props: Json,
    pub outputs: Map<String, Json>,
    /// Logical ids this resource referred to when applied: the order for deleting it.
    pub deps: Vec<String>,
    /// Task definitions: every revision the stack registered, deregistered by `down`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Made, but a follow-up call (an attribute, a rule, an attachment) did not finish:
    /// `down` deletes it, the next `up` adopts and finishes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the state file {path} is damaged: {source}\n  hint: restore it from a backup; without it provision does not know what the stack owns"
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the state file {path} belongs to stack `{found}`, not `{expected}`\n  hint: give each stack its own state file (--state)"
    )]
    OtherStack {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "the state at {at} was changed by another run since this one read it, so it was not overwritten\n  hint: run the command again; it reads the newer state (and check that two runs do not share a state without a lock)"
    )]
    Changed { at: String },
    #[error("{0}")]
    Remote(crate::provider::CloudError),
    #[error("cannot write the state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `.provision/<stack>.state.json` beside the stack file.
pub fn default_path(stack_file: &Path, stack: &str) -> PathBuf {
    let dir = stack_file.parent().unwrap_or(Path::new("."));
    dir.join(".provision").join(format!("{stack}.state.json"))
}

/// One journal line: an entry recorded, or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Put { id: String, entry: Box<Entry> },
    Remove { id: String },
}

impl Change {
    fn apply(self, s: &mut State) {
        match self {
            Change::Put { id, entry } => {
                s.resources.insert(id, *entry);
            }
            Change::Remove { id } => {
                s.resources.remove(&id);
            }
        }
    }
}

/// Where a state file's journal is.
pub fn journal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

pub fn load(path: &Path, stack: &str) -> Result<State, StateError> {
    let mut state = load_base(path, stack)?;
    replay(path, &mut state)?;
    Ok(state)
}

/// The changes a crashed or running writer journaled since the file was last written. A
/// last line cut short by a crash is a change that was never acknowledged: skipped.
fn replay(path: &Path, state: &mut State) -> Result<(), StateError> {
    let journal = journal_path(path);
    let text = match std::fs::read_to_string(&journal) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StateError::Read {
                path: journal,
                source,
            });
        }
    };
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Change>(line) {
            Ok(c) => c.apply(state),
            Err(_) if i + 1 == lines.len() && !complete => {}
            Err(source) => {
                return Err(StateError::Parse {
                    path: journal,
                    source,
                });
            }
        }
    }
    Ok(())
}

fn load_base(path: &Path, stack: &str) -> Result<State, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(State {
                version: VERSION,
                stack: stack.to_string(),
                resources: BTreeMap::new(),
            });
        }
        Err(source) => {
            return Err(StateError::Read {
                path: path.into(),
                source,
            });
        }
    };
    let state: State = serde_json::from_str(&text).map_err(|source| StateError::Parse {
        path: path.into(),
        source,
    })?;
    if state.stack != stack {
        return Err(StateError::OtherStack {
            path: path.into(),
            found: state.stack,
            expected: stack.into(),
        });
    }
    Ok(state)
}

/// Writes the whole state and drops the journal it now holds: its size in bytes.
pub fn save(path: &Path, state: &State) -> Result<u64, StateError> {
    file::save_bytes(
        path,
        &serde_json::to_vec_pretty(state).expect("state serializes"),
    )
}

/// Where a run's state goes.
pub enum Sink {
    File(PathBuf),
    Remote {
        object: Arc<dyn remote::Remote>,
        /// The ETag last read or written: a write is conditional on it.
        etag: Option<String>,
    },
}

enum Writing {
    File(file::FileSink),
    Remote {
        object: Arc<dyn remote::Remote>,
        etag: Option<String>,
    },
}

/// The sink, and how many changes it holds (see `StateWriter::record`).
struct Durable {
    to: Writing,
    changes: u64,
}

/// The state as the run has changed it.
struct Live {
    state: State,
    /// How many `record` calls have been applied to it.
    changes: u64,
    /// Journal lines of those changes not handed to a flush yet (a file state).
    unwritten: Vec<u8>,
    /// Whether those lines record a resource (not only forget some): see `Flush::Lines`.
    unwritten_puts: bool,
}

/// The one writer of a state during a run. Changes are recorded in order, each written
/// before `record` returns: to the journal (a killed run loses nothing; the fsync follows
/// on a thread of its own), or to the object in S3.
pub struct StateWriter {
    state: Mutex<Live>,
    sink: tokio::sync::Mutex<Durable>,
    remote: bool,
}

impl StateWriter {
    pub fn new(path: PathBuf, state: State) -> Self {
        Self::to(Sink::File(path), state)
    }

    pub fn to(sink: Sink, state: State) -> Self {
        let remote = matches!(sink, Sink::Remote { .. });
        let sink = match sink {
            Sink::File(path) => Writing::File(file::FileSink::new(path)),
            Sink::Remote { object, etag } => Writing::Remote { object, etag },
        };
        StateWriter {
            state: Mutex::new(Live {
                state,
                changes: 0,
                unwritten: Vec::new(),
                unwritten_puts: false,
            }),
            sink: tokio::sync::Mutex::new(Durable {
                to: sink,
                changes: 0,
            }),
            remote,
        }
    }

    pub fn snapshot(&self) -> State {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state
            .clone()
    }

    /// The whole state, serialized as the file and the object hold it.
    fn whole(&self) -> Vec<u8> {
        let live = self.state.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::to_vec_pretty(&live.state).expect("state serializes")
    }

    /// One entry as recorded now (without copying the whole state).
    pub fn entry(&self, id: &str) -> Option<Entry> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state
            .resources
            .get(id)
            .cloned()
    }

    /// Records `id` as `entry`.
    pub async fn put(&self, id: &str, entry: Entry) -> Result<(), StateError> {
        self.record(vec![Change::Put {
            id: id.to_string(),
            entry: Box::new(entry),
        }])
        .await
    }

    /// Forgets `id`.
    pub async fn remove(&self, id: &str) -> Result<(), StateError> {
        self.record(vec![Change::Remove { id: id.to_string() }])
            .await
    }

    /// Records `changes` together, written before returning. Changes reach the sink in the
    /// order they were applied; those made while a write is under way wait for the next,
    /// which carries them all (a group commit): steps finishing together share one write,
    /// or one PUT of the object in S3, instead of queueing one each.
    pub async fn record(&self, changes: Vec<Change>) -> Result<(), StateError> {
        let mine = {
            let mut live = self.state.lock().unwrap_or_else(|e| e.into_inner());
            for c in changes {
                if !self.remote {
                    serde_json::to_writer(&mut live.unwritten, &c).expect("a change serializes");
                    live.unwritten.push(b'\n');
                    live.unwritten_puts |= matches!(c, Change::Put { .. });
                }
                c.apply(&mut live.state);
            }
            live.changes += 1;
            live.changes
        };
        let mut sink = self.sink.lock().await;
        if sink.changes >= mine {
            return Ok(()); // a write that started after this change carried it
        }
        let (flush, upto) = {
            let mut live = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let lines = std::mem::take(&mut live.unwritten);
            let puts = std::mem::take(&mut live.unwritten_puts);
            // A file's sink picks lines or a rewrite; an object in S3 is written whole.
            let whole = || serde_json::to_vec_pretty(&live.state).expect("state serializes");
            let flush = match &sink.to {
                Writing::File(f) => f.choose(lines, puts, whole),
                Writing::Remote { .. } => Flush::Whole(whole()),
            };
            (flush, live.changes)
        };
        match (&mut sink.to, flush) {
            (Writing::File(f), flush) => f.flush(flush).await?,
            (Writing::Remote { object, etag }, Flush::Whole(body)) => {
                put_remote(object.as_ref(), etag, body).await?
            }
            (Writing::Remote { .. }, _) => unreachable!("an object is written whole"),
        }
        sink.changes = upto;
        Ok(())
    }

    /// At the end of a run: the file is rewritten whole and its journal dropped (a state
    /// in S3 is whole after every change already).
    pub async fn finish(&self) -> Result<(), StateError> {
        let mut sink = self.sink.lock().await;
        let recorded = sink.changes > 0;
        if let Writing::File(f) = &mut sink.to {
            f.finish(|| self.whole(), recorded).await?;
        }
        Ok(())
    }

    /// Before a run's first step, so that its first change costs one appended line: a file
    /// state that does not exist yet is written (with what the run starts from) and its
    /// journal opened. Run beside the first steps: it holds the writer until done, and
    /// their requests take longer. A failure is left to the first change to report (its
    /// flush writes the whole state then), so it is only logged here.
    pub async fn prepare(&self) {
        let mut sink = self.sink.lock().await;
        if let Writing::File(f) = &mut sink.to
            && let Err(e) = f.prepare(|| self.whole()).await
        {
            tracing::debug!(error = %e, "preparing the state file");
        }
    }

    /// Writes the whole state in one piece (`state recover`).
    pub async fn write_all(&self) -> Result<(), StateError> {
        let mut sink = self.sink.lock().await;
        let whole = self.whole();
        match &mut sink.to {
            Writing::File(f) => f.flush(Flush::Whole(whole)).await,
            Writing::Remote { object, etag } => put_remote(object.as_ref(), etag, whole).await,
        }
    }
}

/// One conditional write of the whole state to its object.
async fn put_remote(
    object: &dyn remote::Remote,
    etag: &mut Option<String>,
    body: Vec<u8>,
) -> Result<(), StateError> {
    let cond = etag
        .clone()
        .map_or(remote::Cond::IfAbsent, remote::Cond::IfMatch);
    let new = object.put(body, cond).await.map_err(|e| match e {
        remote::RemoteError::Precondition => StateError::Changed {
            at: object.describe(),
        },
        remote::RemoteError::Cloud(c) => StateError::Remote(c),
    })?;
    *etag = Some(new);
    Ok(())
}

/// The state in `object`, and its ETag (none when there is no state yet).
pub async fn load_remote(
    object: &dyn remote::Remote,
    stack: &str,
) -> Result<(State, Option<String>), StateError> {
    let Some((body, etag)) = object.get().await.map_err(|e| match e {
        remote::RemoteError::Cloud(c) => StateError::Remote(c),
        remote::RemoteError::Precondition => StateError::Changed {
            at: object.describe(),
        },
    })?
    else {
        return Ok((
            State {
                version: VERSION,
                stack: stack.to_string(),
                resources: BTreeMap::new(),
            },
            None,
        ));
    };
    let state: State = serde_json::from_slice(&body).map_err(|source| StateError::Parse {
        path: PathBuf::from(object.describe()),
        source,
    })?;
    if state.stack != stack {
        return Err(StateError::OtherStack {
            path: PathBuf::from(object.describe()),
            found: state.stack,
            expected: stack.into(),
        });
    }
    Ok((state, Some(etag)))
}
