//! One run at a time per state. Locally: an OS file lock on `<state>.lock` beside the state
//! file, held for the whole run and released by the OS when the process ends, even by
//! `kill -9`. The file also says who holds it, so a second run can name the holder.
//! Remotely (S3): an object `<key>.lock` created only if absent, renewed while the run
//! lives, so a lock whose run died is visibly stale.

use super::remote::{Cond, Remote, RemoteError};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Who holds a lock, and since when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    /// user@host
    pub who: String,
    /// plan, up, down…
    pub operation: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    /// The CI run's page, when the usual CI variables say where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run: Option<String>,
    /// A remote lock's last renewal (seconds since the epoch); none for a local lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed: Option<u64>,
}

/// How often a remote lock is renewed, and after how long without renewal it looks stale.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(15);
pub const STALE_AFTER: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}", held_message(.path, .holder))]
    Held {
        path: PathBuf,
        holder: Option<Box<Holder>>,
    },
    #[error("cannot lock the state {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the lock {path} is held by {found}, not {asked}\n  hint: copy the id from the message that named the holder"
    )]
    OtherId {
        path: PathBuf,
        found: String,
        asked: String,
    },
    #[error("there is no lock at {0}")]
    NotLocked(PathBuf),
    #[error("{0}")]
    Remote(crate::provider::CloudError),
}

fn held_message(path: &Path, holder: &Option<Box<Holder>>) -> String {
    match holder {
        Some(h) => {
            let age = now().saturating_sub(h.started);
            let ci = h
                .ci_run
                .as_ref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default();
            let stale = h
                .renewed
                .map(|r| now().saturating_sub(r))
                .filter(|quiet| *quiet > STALE_AFTER)
                .map(|quiet| {
                    format!(
                        "; it looks stale: not renewed for {}, so that run is probably gone",
                        age_text(quiet)
                    )
                })
                .unwrap_or_default();
            format!(
                "the state is locked by {}{ci}, running `{}` for {}, lock id {}{stale}\n  hint: wait for it to finish; if that run is gone for good, `provision force-unlock {}` removes the lock ({})",
                h.who,
                h.operation,
                age_text(age),
                h.id,
                h.id,
                path.display()
            )
        }
        None => format!(
            "the state is locked by another run ({})\n  hint: wait for it to finish",
            path.display()
        ),
    }
}

fn age_text(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `<state>.lock`.
pub fn path_for(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

/// A lock held until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
    pub holder: Holder,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Say nobody holds it; the OS lock itself goes with the file handle.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Takes the lock for `operation`, or says who holds it, at once: never waits.
pub fn acquire(state: &Path, operation: &str) -> Result<Lock, LockError> {
    let path = path_for(state);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                holder: read_holder(&mut file).map(Box::new),
                path,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let holder = Holder {
        id: new_id(),
        who: who(),
        operation: operation.to_string(),
        started: now(),
        ci_run: ci_run(),
        renewed: None,
    };
    let text = serde_json::to_vec(&holder).unwrap_or_default();
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(&text).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Lock { file, holder })
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Removes the lock with this id, whoever holds it: for a run that is gone for good.
pub fn force_unlock(state: &Path, id: &str) -> Result<Holder, LockError> {
    let path = path_for(state);
    let mut file = File::open(&path).map_err(|_| LockError::NotLocked(path.clone()))?;
    let holder = read_holder(&mut file).ok_or_else(|| LockError::NotLocked(path.clone()))?;
    if holder.id != id {
        return Err(LockError::OtherId {
            path,
            found: holder.id,
            asked: id.to_string(),
        });
    }
    // The holder keeps its handle on the removed file; the next run makes a new one.
    std::fs::remove_file(&path).map_err(|source| LockError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(holder)
}

fn new_id() -> String {
    // Unique enough to name one run: time and process, hashed (FNV-1a) to 12 hex digits.
    let seed = format!(
        "{}-{}-{:?}",
        std::process::id(),
        who(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", h & 0xffff_ffff_ffff)
}

fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// The CI run's page, from the variables GitHub Actions, GitLab CI and Buildkite set.
fn ci_run() -> Option<String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    var("CI_JOB_URL").or_else(|| var("BUILDKITE_BUILD_URL"))
}

/// A remote lock: renewed in the background until released.
pub struct RemoteLock {
    object: std::sync::Arc<dyn Remote>,
    pub holder: Holder,
    renewer: tokio::task::JoinHandle<()>,
}

fn remote_err(e: RemoteError, what: &str) -> LockError {
    match e {
        RemoteError::Cloud(c) => LockError::Remote(c),
        RemoteError::Precondition => LockError::NotLocked(PathBuf::from(what)),
    }
}

/// Takes the lock beside the remote `state`, or says who holds it, at once.
pub async fn acquire_remote(state: &dyn Remote, operation: &str) -> Result<RemoteLock, LockError> {
    let object: std::sync::Arc<dyn Remote> = state.sibling(".lock").into();
    let mut holder = Holder {
        id: new_id(),
        who: who(),
        operation: operation.to_string(),
        started: now(),
        ci_run: ci_run(),
        renewed: Some(now()),
    };
    let body = serde_json::to_vec(&holder).unwrap_or_default();
    let etag = match object.put(body, Cond::IfAbsent).await {
        Ok(etag) => etag,
        Err(RemoteError::Precondition) => {
            let found = object
                .get()
                .await
                .ok()
                .flatten()
                .and_then(|(b, _)| serde_json::from_slice::<Holder>(&b).ok());
            return Err(LockError::Held {
                path: PathBuf::from(object.describe()),
                holder: found.map(Box::new),
            });
        }
        Err(e) => return Err(remote_err(e, &object.describe())),
    };
    let renewer = {
        let (object, mut holder, mut etag) = (object.clone(), holder.clone(), etag);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                holder.renewed = Some(now());
                let body = serde_json::to_vec(&holder).unwrap_or_default();
                match object.put(body, Cond::IfMatch(etag.clone())).await {
                    Ok(new) => etag = new,
                    // Someone removed or took it (force-unlock): it is not ours to renew.
                    Err(RemoteError::Precondition) => return,
                    // A passing failure: the next renewal tries again.
                    Err(RemoteError::Cloud(_)) => {}
                }
            }
        })
    };
    holder.renewed = None;
    Ok(RemoteLock {
        object,
        holder,
        renewer,
    })
}

impl RemoteLock {
    /// Stops renewing and removes the lock if it is still this run's.
    pub async fn release(self) {
        self.renewer.abort();
        if let Ok(Some((body, _))) = self.object.get().await
            && serde_json::from_slice::<Holder>(&body).is_ok_and(|h| h.id == self.holder.id)
        {
            let _ = self.object.delete().await;
        }
    }
}

/// Removes the remote lock with this id, whoever holds it.
pub async fn force_unlock_remote(state: &dyn Remote, id: &str) -> Result<Holder, LockError> {
    let object = state.sibling(".lock");
    let what = object.describe();
    let (body, _) = object
        .get()
        .await
        .map_err(|e| remote_err(e, &what))?
        .ok_or_else(|| LockError::NotLocked(PathBuf::from(&what)))?;
    let holder: Holder =
        serde_json::from_slice(&body).map_err(|_| LockError::NotLocked(PathBuf::from(&what)))?;
    if holder.id != id {
        return Err(LockError::OtherId {
            path: PathBuf::from(what),
            found: holder.id,
            asked: id.to_string(),
        });
    }
    object.delete().await.map_err(|e| remote_err(e, &what))?;
    Ok(holder)
}
