//! A state kept in a file: the file, rewritten atomically now and then, and its journal,
//! one appended line per change. A line is written before `record` returns (a killed
//! process's writes survive in the page cache) and fsynced right after, on a thread of its
//! own, one fsync for every line written meanwhile: what waits on a step does not also wait
//! on the disk. A power loss in that millisecond can lose the last lines; what they named
//! carries the stack's tags, so the next run finds it again, as it would a resource whose
//! create call was under way. Lines that only forget resources are not fsynced on their
//! own (see `Flush::Lines`).

use super::{StateError, journal_path};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

/// The file alone, atomically: its size in bytes.
pub(super) fn write_bytes(path: &Path, data: &[u8]) -> Result<u64, StateError> {
    let err = |source| StateError::Write {
        path: path.into(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(data).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    sync_dir(path);
    Ok(data.len() as u64)
}

/// Syncs the directory holding `path`, so that a file created or renamed there stays.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// How large the journal may grow before the file is rewritten, however small the file.
const JOURNAL_FLOOR: u64 = 64 * 1024;

/// A file state being written: the journal's open handle and sizes.
pub(super) struct FileSink {
    path: PathBuf,
    journal: Option<Arc<File>>,
    /// Bytes of the file as last written, and of the journal since.
    base: u64,
    journaled: u64,
    /// Fsyncs the journal behind its writes; `None` until the first line, or if its thread
    /// could not be started (then each line is fsynced before `record` returns).
    syncer: Option<Syncer>,
    /// The file was written by `prepare`, before anything was recorded.
    prepared_new: bool,
}

/// What one flush writes: journal lines, or the whole state when the journal would
/// outgrow the file (so the bytes written stay proportional to the changes made).
pub(super) enum Flush {
    /// Lines, and whether they are fsynced now. Lines that only forget resources are not:
    /// losing them to a power cut leaves the state naming resources already deleted, and
    /// the next run finds them gone (a deletion of something gone counts as done). The next
    /// line that records a resource, or the rewrite at the end of the run, syncs them too.
    Lines(Vec<u8>, bool),
    Whole(Vec<u8>),
    /// The lines to the journal, then the whole state. A crash after the new file is in
    /// place but before the journal is gone leaves both; replaying a journal that holds
    /// every change since the last rewrite over the file changes nothing, while one that
    /// missed the last changes would turn their resources back to an older entry.
    Fold {
        lines: Vec<u8>,
        whole: Vec<u8>,
    },
}

impl FileSink {
    pub(super) fn new(path: PathBuf) -> Self {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        FileSink {
            base: size(&path),
            journaled: size(&journal_path(&path)),
            path,
            journal: None,
            syncer: None,
            prepared_new: false,
        }
    }

    /// What a flush of `lines` writes. The file is written whole first (so it exists,
    /// naming its stack); then the journal may grow to the file's size, or `JOURNAL_FLOOR`
    /// while the state is small: a line's one fsync instead of a rewrite's two, a rename
    /// and an unlink for each early step. Past that the file is rewritten, a journal in
    /// use getting the lines first (unless a flush of it failed: then it is not trusted).
    pub(super) fn choose(
        &self,
        lines: Vec<u8>,
        puts: bool,
        whole: impl FnOnce() -> Vec<u8>,
    ) -> Flush {
        let fits =
            self.journaled.saturating_add(lines.len() as u64) <= self.base.max(JOURNAL_FLOOR);
        match self.journaled {
            _ if self.base > 0 && fits => Flush::Lines(lines, puts),
            0 | u64::MAX => Flush::Whole(whole()),
            _ => Flush::Fold {
                lines,
                whole: whole(),
            },
        }
    }

    /// Writes `flush`. Lines to an open journal are written here, at once (a write to the
    /// page cache, microseconds), and handed to the syncer; anything else (opening the
    /// journal, a rewrite) is written and fsynced on the blocking pool, which would
    /// otherwise hold the one thread that sends requests.
    pub(super) async fn flush(&mut self, flush: Flush) -> Result<(), StateError> {
        // Taken in any case: a rewrite makes a failed fsync moot (the file it writes holds
        // every change), lines must not go on after it.
        let failed = self.syncer.as_ref().and_then(Syncer::failed);
        if let (Flush::Lines(..), Some(failed)) = (&flush, failed) {
            // What reached the disk is unknown: the next flush writes the whole state.
            self.journaled = u64::MAX;
            return Err(StateError::Write {
                path: journal_path(&self.path),
                source: failed,
            });
        }
        if let (Flush::Lines(lines, sync), Some(journal)) = (&flush, &self.journal) {
            // The thread starts with the first line to sync (a `down` may have none).
            let syncer = sync.then(|| &*self.syncer.get_or_insert_with(Syncer::start));
            if syncer.is_none_or(Syncer::running) {
                let written = (&**journal).write_all(lines);
                if let Err(source) = written {
                    self.journaled = u64::MAX;
                    return Err(StateError::Write {
                        path: journal_path(&self.path),
                        source,
                    });
                }
                self.journaled += lines.len() as u64;
                if let Some(syncer) = syncer {
                    syncer.sync(journal.clone());
                }
                return Ok(());
            }
        }
        let path = self.path.clone();
        let journal = self.journal.take();
        let journaled = self.journaled;
        let joined = tokio::task::spawn_blocking(move || match flush {
            Flush::Whole(data) => {
                drop(journal);
                let size = save_bytes(&path, &data)?;
                Ok((None, Some(size), 0))
            }
            Flush::Fold { lines, whole } => {
                drop(append(&path, journal, &lines)?);
                let size = save_bytes(&path, &whole)?;
                Ok((None, Some(size), 0))
            }
            Flush::Lines(lines, _) => {
                let f = append(&path, journal, &lines)?;
                Ok((Some(f), None, journaled + lines.len() as u64))
            }
        })
        .await
        .map_err(lost(&self.path))?;
        match joined {
            Ok((journal, base, journaled)) => {
                self.journal = journal;
                if let Some(base) = base {
                    self.base = base;
                }
                self.journaled = journaled;
                Ok(())
            }
            Err(e) => {
                // What is on disk is unknown now: the next flush writes the whole state.
                self.journaled = u64::MAX;
                Err(e)
            }
        }
    }

    /// Makes the first change one appended line: writes the file if there is none yet (it
    /// names the stack) and opens the journal, syncing the directory.
    pub(super) async fn prepare(
        &mut self,
        whole: impl FnOnce() -> Vec<u8>,
    ) -> Result<(), StateError> {
        if self.base == 0 {
            self.flush(Flush::Whole(whole())).await?;
            self.prepared_new = true;
        }
        if self.journal.is_some() || self.journaled == u64::MAX {
            return Ok(());
        }
        let path = self.path.clone();
        let opened = tokio::task::spawn_blocking(move || open_journal(&path))
            .await
            .map_err(lost(&self.path))??;
        self.journal = Some(Arc::new(opened));
        Ok(())
    }

    /// At the end of a run: the journal folded into the file (`whole`), or removed if it
    /// is empty; a file `prepare` wrote for a run that recorded nothing is removed too.
    pub(super) async fn finish(
        &mut self,
        whole: impl FnOnce() -> Vec<u8>,
        recorded: bool,
    ) -> Result<(), StateError> {
        if self.journaled > 0 {
            return self.flush(Flush::Whole(whole())).await;
        }
        let (path, opened) = (self.path.clone(), self.journal.take());
        let unused = self.prepared_new && !recorded;
        tokio::task::spawn_blocking(move || {
            if opened.is_some() {
                drop(opened);
                remove(&journal_path(&path))?;
            }
            if unused {
                remove(&path)?;
            }
            Ok(())
        })
        .await
        .map_err(lost(&self.path))?
    }
}

/// The error for a write to `path` whose blocking-pool task did not come back.
fn lost(path: &Path) -> impl FnOnce(tokio::task::JoinError) -> StateError {
    let path = path.to_path_buf();
    move |e| StateError::Write {
        path,
        source: std::io::Error::other(e.to_string()),
    }
}

/// Removes `path`, if it is there.
fn remove(path: &Path) -> Result<(), StateError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StateError::Write {
            path: path.into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The thread that fsyncs the journal: each time it wakes it syncs the newest journal it
/// was handed, which covers every line written before (an older journal's lines are in
/// the rewritten file, fsynced when it was written).
struct Syncer {
    to: Option<mpsc::Sender<Arc<File>>>,
    failed: Arc<Mutex<Option<std::io::Error>>>,
}

impl Syncer {
    fn start() -> Self {
        let (tx, rx) = mpsc::channel::<Arc<File>>();
        let failed = Arc::new(Mutex::new(None));
        let failures = failed.clone();
        let started = std::thread::Builder::new()
            .name("state-sync".into())
            .spawn(move || {
                while let Ok(mut journal) = rx.recv() {
                    while let Ok(newer) = rx.try_recv() {
                        journal = newer;
                    }
                    if let Err(e) = journal.sync_data() {
                        let mut f = failures.lock().unwrap_or_else(|e| e.into_inner());
                        f.get_or_insert(e);
                    }
                }
            });
        Syncer {
            to: started.ok().map(|_| tx),
            failed,
        }
    }

    fn running(&self) -> bool {
        self.to.is_some()
    }

    fn sync(&self, journal: Arc<File>) {
        if let Some(to) = &self.to {
            let _ = to.send(journal);
        }
    }

    /// An fsync that failed since the last call: its lines may not be on disk.
    fn failed(&self) -> Option<std::io::Error> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Appends `lines` to the journal of the state at `path` (opened now unless `journal`
/// is its handle) and syncs them: the handle, for the next lines.
fn append(path: &Path, journal: Option<Arc<File>>, lines: &[u8]) -> Result<Arc<File>, StateError> {
    let err = |source| StateError::Write {
        path: journal_path(path),
        source,
    };
    let f = match journal {
        Some(f) => f,
        None => Arc::new(open_journal(path)?),
    };
    (&*f).write_all(lines).map_err(err)?;
    f.sync_data().map_err(err)?;
    Ok(f)
}

/// Opens (creating it if need be) the journal of the state at `path`, for appending.
fn open_journal(path: &Path) -> Result<File, StateError> {
    let jpath = journal_path(path);
    let err = |source| StateError::Write {
        path: jpath.clone(),
        source,
    };
    if let Some(dir) = jpath.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let f = opts.open(&jpath).map_err(err)?;
    // A new file's name is durable only once its directory is synced: without it a crash
    // could lose the journal, lines and all.
    sync_dir(&jpath);
    Ok(f)
}

/// Writes the whole state (serialized) and drops the journal it now holds.
pub(super) fn save_bytes(path: &Path, data: &[u8]) -> Result<u64, StateError> {
    let size = write_bytes(path, data)?;
    remove(&journal_path(path))?;
    Ok(size)
}
