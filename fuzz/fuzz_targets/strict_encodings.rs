//! The parsing paths of the trust model: record and checkpoint spellings, signatures,
//! bare JSONL logs and integers in actions. None may panic; a record that parses has one
//! spelling (lower-case hex, the writer's timestamp form) and re-serialises to its bytes;
//! `verify_signature` accepts nothing that is not lower-case hex.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lumenflow_core::evidence::Record;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = Record::parse(data) {
        assert_eq!(rec.to_line(), data);
        assert!(lumenflow_core::evidence::is_timestamp(&rec.ts));
    }
    let ring = lumenflow_core::keys::Keyring::new();
    let report = lumenflow_core::verify_records("fuzz", data, &ring, None);
    // Nothing is trusted, so nothing non-empty can be valid.
    if report.records > 0 {
        assert_ne!(report.exit_code(), 0);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let mut parts = text.splitn(3, '\n');
        if let (Some(k), Some(m), Some(s)) = (parts.next(), parts.next(), parts.next()) {
            if lumenflow_core::verify_signature(k, m.as_bytes(), s) {
                let lower =
                    |x: &str| x.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                assert!(lower(k) && lower(s), "a signature in upper case or with a sign verified");
            }
        }
        if let Ok(a) = lumenflow_core::Action::from_json(text) {
            let _ = a.check(&lumenflow_core::Limits::default());
        }
    }
});
