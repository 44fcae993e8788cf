//! Arbitrary bytes as an evidence record line: parsing must never panic, and a line that
//! parses must be canonical (re-serialising it gives the same bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use lumenflow_core::evidence::{Checkpoint, Record};

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = Record::parse(data) {
        assert_eq!(rec.to_line(), data, "a parsed record is not canonical");
        let ring = lumenflow_core::keys::Keyring::new();
        let _ = rec.check_signature(&ring);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(text) {
            let _ = c.verify(&lumenflow_core::keys::Keyring::new());
        }
    }
});
