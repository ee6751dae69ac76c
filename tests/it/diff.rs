//! Field-level diffs.

use provision::plan::diff::{leaves, same};
use serde_json::json;

#[test]
fn null_and_missing_are_the_same() {
    assert!(same(None, Some(&json!(null))));
    assert!(same(
        Some(&json!({"a": 1, "b": null})),
        Some(&json!({"a": 1}))
    ));
    assert!(!same(Some(&json!([1, 2])), Some(&json!([2, 1]))));
}

#[test]
fn leaves_name_the_changed_paths() {
    let old = json!([{"name": "web", "image": "httpd", "ports": [80]}]);
    let new = json!([{"name": "web", "image": "nginx", "ports": [80, 443]}]);
    let mut out = Vec::new();
    leaves("containers", Some(&old), Some(&new), &mut out);
    let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["containers[0].image", "containers[0].ports"]);
    assert_eq!(out[0].old, Some(json!("httpd")));
    assert_eq!(out[0].new, Some(json!("nginx")));
}
