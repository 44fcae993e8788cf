//! Evidence throughput: signed records appended per second in each durability mode
//! (one thread, the directory store), and records verified per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lumenflow_core::evidence::{Head, Record};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::{DirStore, Durability, RawLine, Sealer, Store, StoreOptions};
use lumenflow_core::verify::{verify_lines, Verifier};
use serde_json::{json, Value};
use std::hint::black_box;

struct Seal(KeyPair);

impl Sealer for Seal {
    fn seal(&self, stream: &str, head: Option<&Head>, kind: &str, body: Value) -> Record {
        Record::seal(
            stream,
            head,
            "2026-11-21T12:00:00.000000Z",
            kind,
            body,
            &self.0,
        )
    }
}

/// A decision body of realistic size (about 700 bytes).
fn body(i: u64) -> Value {
    json!({
        "action": {"tool": "bash", "args": {"command": format!("cargo test --workspace -- case_{i}")}, "actor": {"id": "agent-7", "roles": [], "kind": "agent"}, "session": "s-1", "run": "", "metadata": {}},
        "input_digest": "sha256:6f1ed002ab5595859014ebf0951522d9f1ed002ab5595859014ebf0951522d9",
        "context_digest": "sha256:5595859014ebf0951522d96f1ed002ab5595859014ebf0951522d96f1ed002a",
        "redactions": [],
        "decision": {"effect": "allow", "decided_by": "rule", "deciding_rules": [{"policy": "software-delivery", "rule": "shell-default"}],
            "matched": [{"policy": "software-delivery", "rule": "shell-default", "effect": "allow", "reason": "ordinary shell command inside the worktree"}],
            "errors": [], "warnings": [], "policies": [{"name": "software-delivery", "digest": "sha256:adf435a356ca6603fe3c3c7ee7a42a85b633a50e28f7b1e4f80106752de6bd0a"}],
            "approvers": [], "reason": "allowed by rule `shell-default` of `software-delivery`", "eval_ns": 3120},
        "instance": "7c1f3b2a9d8e",
    })
}

fn append(c: &mut Criterion) {
    let seal = Seal(KeyPair::from_seed(&[3; 32]));
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    for (name, durability) in [
        ("none", Durability::None),
        ("group", Durability::Group),
        ("sync", Durability::Sync),
    ] {
        let dir =
            std::env::temp_dir().join(format!("lf-bench-append-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = DirStore::open(
            &dir,
            StoreOptions {
                durability,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let mut i = 0u64;
        g.bench_function(BenchmarkId::new("signed_record", name), |b| {
            b.iter(|| {
                i += 1;
                black_box(
                    store
                        .append(&seal, vec![("decision".into(), body(i))])
                        .unwrap(),
                )
            })
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    // The parts of one append, to see where the time goes.
    let head = Head {
        seq: 41,
        hash: lumenflow_core::evidence::GENESIS.into(),
    };
    g.bench_function("seal_only", |b| {
        b.iter(|| {
            black_box(seal.seal(
                "0123456789abcdef0123456789abcdef",
                Some(&head),
                "decision",
                body(7),
            ))
        })
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let key = KeyPair::from_seed(&[3; 32]);
    let mut ring = Keyring::new();
    ring.add(key.public());
    let seal = Seal(key);
    let n = 5_000u64;
    let mut head: Option<Head> = None;
    let lines: Vec<RawLine> = (0..n)
        .map(|i| {
            let r = seal.seal(
                "0123456789abcdef0123456789abcdef",
                head.as_ref(),
                "decision",
                body(i),
            );
            head = Some(r.head());
            RawLine {
                segment: "s".into(),
                line: i + 1,
                bytes: r.to_line(),
                complete: true,
            }
        })
        .collect();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("records", n), |b| {
        b.iter(|| {
            let r = verify_lines(&lines, Verifier::new(&ring), &|_| {});
            assert_eq!(r.exit_code(), 0);
            black_box(r)
        })
    });
    g.finish();
}

criterion_group!(benches, append, verify);
criterion_main!(benches);
