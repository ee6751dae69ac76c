//! The state's journal: each change is one appended line, the file is rewritten only when
//! the journal outgrows it and at the end, and reading replays what a crash left.

use provision::desired::Kind;
use provision::state::{self, Entry, StateWriter, journal_path};
use serde_json::json;

fn entry(n: usize) -> Entry {
    Entry {
        kind: Kind::SecurityGroup,
        physical_id: format!("sg-{n:08}"),
        props: json!({"group_name": format!("g{n}"), "ingress": [{"port": 1000 + n}]}),
        outputs: json!({"id": format!("sg-{n:08}")})
            .as_object()
            .unwrap()
            .clone(),
        deps: vec!["vpc".into()],
        revisions: vec![],
        incomplete: false,
    }
}

#[tokio::test]
async fn changes_are_journaled_replayed_and_folded_in_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.state.json");
    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    for n in 0..300 {
        writer
            .put(&format!("security_group.g{n}"), entry(n))
            .await
            .unwrap();
    }
    writer.remove("security_group.g7").await.unwrap();
    // Mid-run (a crash now): the file and its journal together hold every change.
    let journal = journal_path(&path);
    assert!(journal.exists(), "recent changes are in the journal");
    let file_alone: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        file_alone["resources"].as_object().unwrap().len() < 300,
        "the file is not rewritten at every change"
    );
    let read = state::load(&path, "demo").unwrap();
    assert_eq!(read.resources.len(), 299);
    assert!(!read.resources.contains_key("security_group.g7"));

    // A line cut short by the crash was never acknowledged: skipped.
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str(r#"{"put":{"id":"security_group.half","ent"#);
    std::fs::write(&journal, &text).unwrap();
    assert_eq!(state::load(&path, "demo").unwrap().resources.len(), 299);

    // A damaged line in the middle is not guessed at.
    let damaged = text.replacen("{\"put\"", "{\"pu", 1) + "\n";
    std::fs::write(&journal, damaged).unwrap();
    assert!(state::load(&path, "demo").is_err());
    std::fs::write(&journal, text).unwrap();

    // The end of a run folds the journal into the file.
    writer.finish().await.unwrap();
    assert!(!journal.exists());
    let file_alone: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file_alone["resources"].as_object().unwrap().len(), 299);
}

/// A new state is written whole once, so that it exists and names its stack; its next
/// changes go to the journal even while the file is smaller than they are.
#[tokio::test]
async fn a_new_state_is_written_once_then_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.state.json");
    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    writer.put("security_group.g0", entry(0)).await.unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.contains("\"stack\": \"demo\""), "{first}");
    assert!(!journal_path(&path).exists());
    for n in 1..6 {
        writer
            .put(&format!("security_group.g{n}"), entry(n))
            .await
            .unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        first,
        "not rewritten"
    );
    let journal = std::fs::read_to_string(journal_path(&path)).unwrap();
    assert_eq!(journal.lines().count(), 5);
    assert_eq!(state::load(&path, "demo").unwrap().resources.len(), 6);
}

/// A rewrite of the file in mid-run puts its changes in the journal first: a crash after
/// the new file is in place, before the journal is removed, leaves a journal whose replay
/// changes nothing, instead of one that turns a resource back to an older entry.
#[tokio::test]
async fn a_journal_left_by_a_crash_during_a_rewrite_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.state.json");
    let journal = journal_path(&path);
    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    let version = |n: usize, note: &str| {
        let mut e = entry(n);
        e.props["note"] = json!(note);
        e
    };
    writer
        .put("security_group.a", version(1, "v1"))
        .await
        .unwrap();
    writer
        .put("security_group.a", version(2, "v2"))
        .await
        .unwrap();
    assert!(journal.exists());
    // A second name for the journal: it sees what is appended, and survives its removal.
    let kept = dir.path().join("kept-journal");
    std::fs::hard_link(&journal, &kept).unwrap();
    // Larger than the journal may grow: this change rewrites the file.
    let big = version(3, &"x".repeat(100 * 1024));
    writer.put("security_group.a", big).await.unwrap();
    assert!(!journal.exists(), "the file was rewritten");
    // The crash: the new file is in place, the journal still there.
    std::fs::rename(&kept, &journal).unwrap();
    let read = state::load(&path, "demo").unwrap();
    assert_eq!(
        read.resources["security_group.a"].physical_id,
        "sg-00000003"
    );
}

/// Steps finishing together share a write; each change is in the file (where a killed run
/// leaves it), in order, when the step that made it goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_finishing_together_are_each_on_disk_when_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.state.json");
    let writer = std::sync::Arc::new(StateWriter::new(
        path.clone(),
        state::load(&path, "demo").unwrap(),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..120 {
        let (w, path) = (writer.clone(), path.clone());
        tasks.spawn(async move {
            let id = format!("security_group.g{n}");
            w.put(&id, entry(n)).await.unwrap();
            let read = state::load(&path, "demo").unwrap();
            assert_eq!(
                read.resources.get(&id).map(|e| e.physical_id.clone()),
                Some(entry(n).physical_id),
                "{id} is on disk once recorded"
            );
            if n % 3 == 0 {
                w.remove(&id).await.unwrap();
                let read = state::load(&path, "demo").unwrap();
                assert!(
                    !read.resources.contains_key(&id),
                    "{id} is gone once removed"
                );
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    // A crash now: the file and its journal hold exactly what was recorded.
    let read = state::load(&path, "demo").unwrap();
    assert_eq!(read.resources.len(), 80);
    assert_eq!(
        read.resources.keys().collect::<Vec<_>>(),
        writer.snapshot().resources.keys().collect::<Vec<_>>()
    );
    writer.finish().await.unwrap();
    assert!(!journal_path(&path).exists());
    assert_eq!(state::load(&path, "demo").unwrap().resources.len(), 80);
}

/// An object store that takes 20 ms a write and checks every write's condition.
#[derive(Default)]
struct SlowStore {
    object: std::sync::Mutex<Option<(Vec<u8>, String)>>,
    puts: std::sync::atomic::AtomicUsize,
}

impl provision::state::remote::Remote for SlowStore {
    fn describe(&self) -> String {
        "mem://state".into()
    }
    fn get(
        &self,
    ) -> provision::state::remote::BoxFuture<
        '_,
        Result<Option<provision::state::remote::Versioned>, provision::state::remote::RemoteError>,
    > {
        Box::pin(async move { Ok(self.object.lock().unwrap().clone()) })
    }
    fn put(
        &self,
        body: Vec<u8>,
        cond: provision::state::remote::Cond,
    ) -> provision::state::remote::BoxFuture<
        '_,
        Result<String, provision::state::remote::RemoteError>,
    > {
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let mut object = self.object.lock().unwrap();
            let current = object.as_ref().map(|(_, e)| e.clone());
            let holds = match cond {
                provision::state::remote::Cond::Any => true,
                provision::state::remote::Cond::IfAbsent => current.is_none(),
                provision::state::remote::Cond::IfMatch(e) => current == Some(e),
            };
            if !holds {
                return Err(provision::state::remote::RemoteError::Precondition);
            }
            let n = self.puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let etag = format!("etag-{n}");
            *object = Some((body, etag.clone()));
            Ok(etag)
        })
    }
    fn delete(
        &self,
    ) -> provision::state::remote::BoxFuture<'_, Result<(), provision::state::remote::RemoteError>>
    {
        Box::pin(async move {
            *self.object.lock().unwrap() = None;
            Ok(())
        })
    }
    fn sibling(&self, _suffix: &str) -> Box<dyn provision::state::remote::Remote> {
        Box::new(SlowStore::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_finishing_together_share_one_write_to_s3() {
    let store = std::sync::Arc::new(SlowStore::default());
    let writer = std::sync::Arc::new(StateWriter::to(
        state::Sink::Remote {
            object: store.clone(),
            etag: None,
        },
        state::State {
            version: state::VERSION,
            stack: "demo".into(),
            resources: Default::default(),
        },
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..60 {
        let w = writer.clone();
        tasks.spawn(async move { w.put(&format!("security_group.g{n}"), entry(n)).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let puts = store.puts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(puts < 60, "{puts} writes for 60 changes");
    let (body, _) = store.object.lock().unwrap().clone().unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        saved["resources"].as_object().unwrap().len(),
        60,
        "every change is in the object"
    );
}

/// A run makes its state file ready beside its first requests: the file exists, naming its
/// stack, and the journal is open, so the first change costs one appended line, not a
/// rewrite, a rename and two directory syncs between an answer and what waits on it.
#[tokio::test]
async fn a_prepared_state_takes_its_first_change_as_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.state.json");
    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    writer.prepare().await;
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.contains("\"stack\": \"demo\""), "{first}");
    writer.put("security_group.g0", entry(0)).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        first,
        "not rewritten"
    );
    let journal = std::fs::read_to_string(journal_path(&path)).unwrap();
    assert_eq!(journal.lines().count(), 1);
    assert_eq!(state::load(&path, "demo").unwrap().resources.len(), 1);
    writer.finish().await.unwrap();
    assert!(!journal_path(&path).exists());
    assert_eq!(state::load(&path, "demo").unwrap().resources.len(), 1);
}

/// A run that prepared a new state file but changed nothing (its first step failed) leaves
/// no file behind; one that prepared an existing file leaves it as it was, with no journal.
#[tokio::test]
async fn a_prepared_state_with_no_change_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.state.json");
    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    writer.prepare().await;
    assert!(path.exists());
    writer.finish().await.unwrap();
    assert!(!path.exists(), "no state file for a run that made nothing");
    assert!(!journal_path(&path).exists());

    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    writer.put("security_group.g0", entry(0)).await.unwrap();
    writer.finish().await.unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let writer = StateWriter::new(path.clone(), state::load(&path, "demo").unwrap());
    writer.prepare().await;
    assert!(journal_path(&path).exists(), "opened for the first change");
    writer.finish().await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert!(!journal_path(&path).exists());
}
