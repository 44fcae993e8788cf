//! Arbitrary bytes as an action's JSON, decided against the example policy
//! examples/policies/software-delivery.yaml with context worktree=/work/repo.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumenflow_core::{Action, Context, Policy, PolicySet};
use lumenflow_fuzz::{check_decision, init, text};
use std::sync::OnceLock;

const POLICY: &str = include_str!("../../examples/policies/software-delivery.yaml");

fn set() -> &'static (PolicySet, Context) {
    static SET: OnceLock<(PolicySet, Context)> = OnceLock::new();
    SET.get_or_init(|| {
        let p = Policy::from_yaml(POLICY, "software-delivery.yaml")
            .expect("the example policy loads");
        let ctx = Context::new()
            .with("worktree", "/work/repo")
            .with("allowed_hosts", serde_json::json!(["*.github.com", "github.com", "pypi.org"]));
        (PolicySet::single(p), ctx)
    })
}

fuzz_target!(|data: &[u8]| {
    init(data);
    let Some(src) = text(data) else { return };
    let Ok(action) = Action::from_json(src) else { return };
    let (set, ctx) = set();
    let d = set.decide(&action, ctx);
    check_decision(&d);
});
