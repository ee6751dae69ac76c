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
