//! Arbitrary bytes as an approver registry (YAML or JSON): loading must never panic, and a
//! registry that loads keeps its promises (one key is one identity, every registered key
//! resolves to its approver, ids are plain names).
#![no_main]
use libfuzzer_sys::fuzz_target;
use lumenflow_core::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(reg) = Registry::parse(text, "fuzz.yaml") else { return };
    for a in reg.approvers() {
        assert!(!a.keys.is_empty(), "an approver without keys loaded");
        for k in &a.keys {
            let owner = reg.by_key(k).expect("a registered key resolves");
            assert_eq!(owner.id, a.id, "one key, two identities");
        }
    }
});
