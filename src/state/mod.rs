//! The record of what the stack owns. One writer (`StateWriter`), written after every
//! step, atomically (temp file, fsync, rename) and readable by the owner only.

pub mod lock;
pub mod remote;

use crate::desired::Kind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::io::Write;
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

pub fn load(path: &Path, stack: &str) -> Result<State, StateError> {
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

pub fn save(path: &Path, state: &State) -> Result<(), StateError> {
    let err = |source| StateError::Write {
        path: path.into(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = path.with_extension("json.tmp");
    let data = serde_json::to_vec_pretty(state).expect("state serializes");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(&data).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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

/// The one writer of a state during a run.
pub struct StateWriter {
    state: Mutex<(State, u64)>,
    /// Writes in order; a write older than the last one written is skipped, since the
    /// newer one holds it.
    sink: tokio::sync::Mutex<(Sink, u64)>,
}

impl StateWriter {
    pub fn new(path: PathBuf, state: State) -> Self {
        Self::to(Sink::File(path), state)
    }

    pub fn to(sink: Sink, state: State) -> Self {
        StateWriter {
            state: Mutex::new((state, 0)),
            sink: tokio::sync::Mutex::new((sink, 0)),
        }
    }

    pub fn snapshot(&self) -> State {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// Applies `f` and writes the result before returning.
    pub async fn update(&self, f: impl FnOnce(&mut State)) -> Result<(), StateError> {
        let (version, state) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut s.0);
            s.1 += 1;
            (s.1, s.0.clone())
        };
        let mut sink = self.sink.lock().await;
        if sink.1 >= version {
            return Ok(());
        }
        match &mut sink.0 {
            Sink::File(path) => save(path, &state)?,
            Sink::Remote { object, etag } => {
                let cond = etag
                    .clone()
                    .map_or(remote::Cond::IfAbsent, remote::Cond::IfMatch);
                let body = serde_json::to_vec_pretty(&state).expect("state serializes");
                let new = object.put(body, cond).await.map_err(|e| match e {
                    remote::RemoteError::Precondition => StateError::Changed {
                        at: object.describe(),
                    },
                    remote::RemoteError::Cloud(c) => StateError::Remote(c),
                })?;
                *etag = Some(new);
            }
        }
        sink.1 = version;
        Ok(())
    }
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
