//! An arbitrary string as the `when:` of a one-rule policy. If it loads, decide a few
//! fixed actions. Never panics; and a rule whose condition fails (on_error defaults to
//! deny) never lets the action through.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumenflow_core::{Effect, Policy, PolicySet};
use lumenflow_fuzz::{check_decision, context, fixed_actions, init, text};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    init(data);
    let Some(expr) = text(data) else { return };
    // effect: allow and default: allow, so only a failed condition may deny, and a
    // failed condition must.
    let quoted = serde_json::to_string(expr).unwrap();
    let yaml = format!(
        "version: 1\nname: fuzz\ndefault: allow\nrules:\n  - id: r\n    effect: allow\n    when: {quoted}\n"
    );
    let policy = match Policy::from_yaml(&yaml, "expr.yaml") {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(policy.rules()[0].on_error(), Effect::Deny);
    static ACTIONS: OnceLock<Vec<lumenflow_core::Action>> = OnceLock::new();
    let actions = ACTIONS.get_or_init(fixed_actions);
    let set = PolicySet::single(policy);
    let ctx = context("/repo");
    for action in actions {
        let d = set.decide(action, &ctx);
        check_decision(&d);
        if !d.errors.is_empty() {
            assert_ne!(
                d.effect,
                Effect::Allow,
                "a failed condition (on_error: deny) allowed: when={expr:?} action={action:?} decision={d:?}"
            );
        }
    }
});
