//! The stateful half of governing: a governed decision with budgets and approvals (state
//! caught up from the log under its lock, the budget reserved, the record signed and
//! appended), and opening a governor on a long log, folding it from the start versus
//! resuming from the signed state snapshot.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lumenflow_core::governor::{Governor, GovernorOptions, Outcome};
use lumenflow_core::keys::KeyPair;
use lumenflow_core::store::Durability;
use lumenflow_core::{Action, Policy, PolicySet};
use serde_json::json;
use std::hint::black_box;

const POLICY: &str = r#"
version: 1
name: bench
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
  - id: llm
    effect: allow
    when: action.tool == "llm" && context.budgets["session-cost"].remaining > 0.0
budgets:
  - id: session-cost
    per: session
    limit: 1000000000.0
    unit: usd
    window: 24h
    charge: action.cost
"#;

fn set() -> PolicySet {
    PolicySet::single(Policy::from_yaml(POLICY, "bench.yaml").unwrap())
}

fn options() -> GovernorOptions {
    GovernorOptions {
        durability: Durability::None,
        ..GovernorOptions::default()
    }
}

fn llm(i: u64) -> Action {
    Action::from_value(
        json!({"tool": "llm", "args": {"prompt": format!("summarise file {i}")},
        "actor": "agent-7", "session": format!("s-{}", i % 50), "cost": 0.001}),
    )
    .unwrap()
}

fn governed(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("lf-bench-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let g = Governor::open(&dir, set(), KeyPair::from_seed(&[3; 32]), options()).unwrap();
    let mut group = c.benchmark_group("governed");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("decide+record with a budget", |b| {
        b.iter(|| {
            i += 1;
            let d = g.decide(&llm(i)).unwrap();
            g.record(&d.id, Outcome::success().with_cost(0.0005))
                .unwrap();
            black_box(d);
        })
    });
    group.bench_function("decide requiring approval", |b| {
        b.iter(|| {
            i += 1;
            let a = Action::from_value(
                json!({"tool": "deploy", "args": {"v": i}, "actor": "agent-7", "session": "s"}),
            )
            .unwrap();
            black_box(g.decide(&a).unwrap());
        })
    });
    group.finish();
    drop(g);
    let _ = std::fs::remove_dir_all(&dir);
}

fn open(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("lf-bench-open-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let records = 20_000u64;
    {
        let g = Governor::open(&dir, set(), KeyPair::from_seed(&[3; 32]), options()).unwrap();
        for i in 0..records / 2 {
            let d = g.decide(&llm(i)).unwrap();
            g.record(&d.id, Outcome::success()).unwrap();
        }
    }
    let mut group = c.benchmark_group(format!("open a {records}-record log"));
    group.sample_size(10);
    group.bench_function("resume from the snapshot", |b| {
        b.iter(|| {
            let g = Governor::open(&dir, set(), KeyPair::from_seed(&[3; 32]), options()).unwrap();
            assert!(g.resumed_from_snapshot());
            black_box(g)
        })
    });
    group.bench_function("fold the whole log", |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(dir.join("state/snapshot.json"));
            let g = Governor::open(&dir, set(), KeyPair::from_seed(&[3; 32]), options()).unwrap();
            assert!(!g.resumed_from_snapshot());
            // Closing writes the snapshot again; remove it before the next fold.
            g.close().unwrap();
            black_box(g)
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, governed, open);
criterion_main!(benches);
