//! The crate root's surface: the functions the CLI and every binding share instead of
//! computing them themselves.

use lumenflow_core::{
    verify_records, Action, Approver, Choice, Durability, Governor, GovernorOptions, Integrity,
    KeyPair, Keyring, Policy, PolicySet,
};
use serde_json::json;

const POLICY: &str = r#"
version: 1
name: t
default: deny
rules:
  - id: bash
    effect: allow
    when: action.tool == "bash"
  - id: http
    effect: require_approval
    when: action.tool == "http"
    approvers: ["user:alice", "user:bob"]
    quorum: 2
"#;

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lf-surface-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn governor(d: &std::path::Path) -> Governor {
    let set = PolicySet::single(Policy::from_yaml(POLICY, "t.yaml").unwrap());
    Governor::open(
        d,
        set,
        KeyPair::from_seed(&[3; 32]),
        GovernorOptions::default(),
    )
    .unwrap()
}

fn segment_bytes(d: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(d.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for n in names {
        out.extend(std::fs::read(n).unwrap());
    }
    out
}

#[test]
fn verify_records_checks_bare_lines_against_the_trusted_key() {
    let d = dir("records");
    let gov = governor(&d);
    let a = Action::new("bash", json!({"command": "ls"})).unwrap();
    gov.decide(&a).unwrap();
    gov.close().unwrap();
    let data = segment_bytes(&d);
    let mut ring = Keyring::new();
    ring.add(KeyPair::from_seed(&[3; 32]).public());

    let ok = verify_records("log", &data, &ring, None);
    assert_eq!(ok.integrity, Integrity::Valid, "{ok:?}");
    assert_eq!(ok.exit_code(), 0);

    // One byte changed inside the first record's signed body is tampering.
    let mut bad = data.clone();
    let at = bad.windows(4).position(|w| w == b"bash").unwrap();
    bad[at] = b'B';
    let r = verify_records("log", &bad, &ring, None);
    assert!(matches!(r.integrity, Integrity::Broken(_)), "{r:?}");
    assert_eq!(r.view().exit_code, r.exit_code());
    assert_eq!(
        serde_json::to_value(r.view()).unwrap()["exit_code"],
        json!(1)
    );

    // A key nobody trusts: not valid.
    let other = Keyring::from_pems(&[KeyPair::from_seed(&[4; 32]).public_pem()], "k").unwrap();
    assert_ne!(verify_records("log", &data, &other, None).exit_code(), 0);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn request_view_counts_distinct_approvals() {
    let d = dir("view");
    let gov = governor(&d);
    let a = Action::new("http", json!({"url": "https://example.com"})).unwrap();
    let g = gov.decide(&a).unwrap();
    let id = g.request().unwrap().to_owned();
    let view = serde_json::to_value(g.view()).unwrap();
    assert_eq!(view["request_id"], json!(id));
    assert_eq!(view["verdict"], json!("approval_required"));
    assert_eq!(view["effect"], json!("require_approval"));

    let r = gov
        .approve(&id, &Approver::new("user:alice"), "ok")
        .unwrap();
    let v = serde_json::to_value(r.view()).unwrap();
    assert_eq!(v["approvals"], json!(1));
    assert_eq!(v["quorum"], json!(2));
    assert_eq!(v["id"], json!(id));
    gov.close().unwrap();
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn choice_and_durability_parse_their_names_only() {
    assert_eq!("approve".parse::<Choice>(), Ok(Choice::Approve));
    assert_eq!("reject".parse::<Choice>(), Ok(Choice::Reject));
    assert!("Approve"
        .parse::<Choice>()
        .unwrap_err()
        .contains("\"approve\""));
    assert_eq!("sync".parse::<Durability>(), Ok(Durability::Sync));
    assert_eq!("group".parse::<Durability>(), Ok(Durability::Group));
    assert_eq!("none".parse::<Durability>(), Ok(Durability::None));
    assert!("fsync".parse::<Durability>().is_err());
}
