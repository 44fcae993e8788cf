//! The shared decision vectors in `spec/vectors/decide.json`, and the policy schema
//! in `spec/policy.schema.json` against the shipped policies.

use lumenflow_core::{Action, Context, Policy, PolicySet};
use serde_json::Value;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec");

#[test]
fn decision_vectors() {
    let text = std::fs::read_to_string(format!("{SPEC}/vectors/decide.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut ran = 0;
    for suite in doc["suites"].as_array().unwrap() {
        let layers: Vec<Policy> = suite["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                Policy::from_yaml(p.as_str().unwrap(), "vector").unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let set = PolicySet::new(layers);
        for case in suite["cases"].as_array().unwrap() {
            let name = format!("{} / {}", suite["name"], case["name"]);
            let action = Action::from_value(case["action"].clone()).unwrap();
            let context = Context::from_value(case["context"].clone()).unwrap();
            let d = set.decide(&action, &context);
            let e = &case["expect"];
            assert_eq!(d.effect.as_str(), e["effect"], "{name}: {d:#?}");
            assert_eq!(
                serde_json::to_value(d.decided_by).unwrap(),
                e["decided_by"],
                "{name}"
            );
            let rules: Vec<Value> = d
                .deciding_rules
                .iter()
                .map(|r| serde_json::json!([&*r.policy, &*r.rule]))
                .collect();
            assert_eq!(Value::Array(rules), e["deciding_rules"], "{name}");
            assert_eq!(
                d.errors.len() as u64,
                e["errors"].as_u64().unwrap(),
                "{name}: {:?}",
                d.errors
            );
            assert_eq!(
                d.warnings.len() as u64,
                e["warnings"].as_u64().unwrap(),
                "{name}: {:?}",
                d.warnings
            );
            if let Some(a) = e.get("approvers") {
                assert_eq!(serde_json::to_value(&d.approvers).unwrap(), *a, "{name}");
            }
            ran += 1;
        }
    }
    assert!(ran >= 30, "only {ran} vectors ran");
}

fn yaml_to_json(path: &str) -> Value {
    Policy::from_file(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .document()
        .clone()
}

#[test]
fn shipped_policies_match_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{SPEC}/policy.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policies");
    let mut checked = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".tests.yaml") || !(name.ends_with(".yaml") || name.ends_with(".json")) {
            continue;
        }
        let doc = yaml_to_json(path.to_str().unwrap());
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        checked += 1;
    }
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{SPEC}/vectors/decide.json")).unwrap(),
    )
    .unwrap();
    for suite in vectors["suites"].as_array().unwrap() {
        for p in suite["policies"].as_array().unwrap() {
            let doc = Policy::from_yaml(p.as_str().unwrap(), "v")
                .unwrap()
                .document()
                .clone();
            assert!(validator.is_valid(&doc), "{}", p);
            checked += 1;
        }
    }
    assert!(checked > 5);
    // And the schema rejects what the loader rejects.
    for bad in [
        serde_json::json!({"version": 1, "name": "x", "rulez": []}),
        serde_json::json!({"version": 2, "name": "x"}),
        serde_json::json!({"version": 1, "name": "x", "rules": [{"id": "a", "effect": "permit", "when": "true"}]}),
        serde_json::json!({"version": 1, "name": "x", "on_error": "allow"}),
        serde_json::json!({"version": 1, "name": "x", "rules": [{"id": "a", "effect": "deny", "when": "true", "approvers": ["x"]}]}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
        assert!(Policy::from_json(&bad.to_string(), "bad").is_err(), "{bad}");
    }
}
