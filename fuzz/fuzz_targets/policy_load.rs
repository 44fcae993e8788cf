//! Arbitrary bytes as a policy file, read as YAML and as JSON. Loading may fail (with
//! diagnostics) but must never panic; a policy that loads must decide an action.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumenflow_core::{Policy, PolicySet};
use lumenflow_fuzz::{bash, check_decision, context, init, text};

fuzz_target!(|data: &[u8]| {
    init(data);
    let Some(src) = text(data) else { return };
    for loaded in [
        Policy::from_yaml(src, "fuzz.yaml"),
        Policy::from_json(src, "fuzz.json"),
    ] {
        match loaded {
            Ok(policy) => {
                let set = PolicySet::single(policy);
                let d = set.decide(&bash("git push --force origin main > /etc/x"), &context("/repo"));
                check_decision(&d);
            }
            Err(e) => {
                // Rendering the diagnostics must not panic either.
                let _ = e.to_string();
            }
        }
    }
});
