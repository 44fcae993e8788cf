//! Property: random truncations, line deletions and byte edits of an evidence directory
//! never make `verify` report valid and complete against an external checkpoint while
//! records are gone or changed (spec/security.md, What `verify` promises).

use lumenflow_core::governor::{Governor, GovernorOptions, Outcome};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::Durability;
use lumenflow_core::verify::exit;
use lumenflow_core::{export, Action, Checkpoint, Policy, PolicySet};
use proptest::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const POLICY: &str = r#"
version: 1
name: t
default: deny
rules:
  - id: bash
    effect: allow
    when: action.tool == "bash"
"#;

fn key() -> KeyPair {
    KeyPair::from_seed(&[61; 32])
}

/// One governed session's segment bytes and a checkpoint of its head, kept "elsewhere".
fn original() -> &'static (Vec<u8>, Checkpoint, String) {
    static LOG: OnceLock<(Vec<u8>, Checkpoint, String)> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lf-prop-src-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let g = Governor::open(
            &dir,
            PolicySet::single(Policy::from_yaml(POLICY, "t.yaml").unwrap()),
            key(),
            GovernorOptions {
                durability: Durability::None,
                ..GovernorOptions::default()
            },
        )
        .unwrap();
        for i in 0..12 {
            let d = g
                .decide(&Action::new("bash", json!({"command": format!("echo {i}")})).unwrap())
                .unwrap();
            g.record(&d.id, Outcome::success()).unwrap();
        }
        let cp = g.checkpoint().unwrap().unwrap();
        drop(g);
        let seg = std::fs::read(dir.join("segments/000000000001.jsonl")).unwrap();
        let stream = std::fs::read_to_string(dir.join("stream")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        (seg, cp, stream)
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    DeleteLine(usize),
    Flip(usize, u8),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        any::<usize>().prop_map(Edit::DeleteLine),
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Edit::Flip(i, x)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(data: &[u8], e: &Edit) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = data
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    match *e {
        Edit::Truncate(n) => data[..n % data.len()].to_vec(),
        Edit::DeleteLine(i) => {
            lines.remove(i % lines.len());
            lines.concat()
        }
        Edit::Flip(i, x) => {
            let mut d = data.to_vec();
            let i = i % d.len();
            d[i] ^= x;
            d
        }
        Edit::SwapLines(a, b) => {
            let n = lines.len();
            lines.swap(a % n, b % n);
            lines.concat()
        }
    }
}

fn dir_with(name: &str, segment: &[u8], stream: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lf-prop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("segments")).unwrap();
    std::fs::write(d.join("segments/000000000001.jsonl"), segment).unwrap();
    std::fs::write(d.join("stream"), stream).unwrap();
    d
}

fn verdict(dir: &Path, cp: &Checkpoint) -> i32 {
    let mut ring = Keyring::new();
    ring.add(key().public());
    export::verify_path(dir, Some(&ring), Some(cp.clone()), &|_| {})
        .map(|r| r.exit_code())
        .unwrap_or(66)
}

#[test]
fn the_untouched_directory_verifies() {
    let (seg, cp, stream) = original();
    assert_eq!(verdict(&dir_with("same", seg, stream), cp), exit::VALID);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn no_edit_verifies_as_whole(edits in proptest::collection::vec(edit(), 1..4)) {
        let (seg, cp, stream) = original();
        let mut data = seg.clone();
        for e in &edits {
            if data.is_empty() {
                break;
            }
            data = apply(&data, e);
        }
        prop_assume!(data != *seg);
        let dir = dir_with("edit", &data, stream);
        let v = verdict(&dir, cp);
        let _ = std::fs::remove_dir_all(&dir);
        prop_assert_ne!(v, exit::VALID, "edits {:?} verified as whole", edits);
    }
}
