//! Arbitrary bytes as a log, verified against a valid signed log: verification must never
//! panic, and a log that is not byte-for-byte the valid one must never be reported valid
//! and complete against the valid log's checkpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lumenflow_core::evidence::{Checkpoint, Head, Record};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::split_lines;
use lumenflow_core::verify::{verify_lines, Verifier};
use std::sync::OnceLock;

struct Fixture {
    ring: Keyring,
    log: Vec<u8>,
    checkpoint: Checkpoint,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = KeyPair::from_seed(&[5; 32]);
        let mut ring = Keyring::new();
        ring.add(key.public());
        let mut head: Option<Head> = None;
        let mut log = Vec::new();
        for i in 0..6 {
            let r = Record::seal("0123456789abcdef0123456789abcdef", head.as_ref(), "2026-01-01T00:00:00.000000Z", "decision", serde_json::json!({"i": i}), &key);
            head = Some(r.head());
            log.extend_from_slice(&r.to_line());
            log.push(b'\n');
        }
        let checkpoint = Checkpoint::seal("0123456789abcdef0123456789abcdef", head.as_ref().unwrap(), "2026-01-01T00:00:01.000000Z", &key);
        Fixture { ring, log, checkpoint }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // Mutate the valid log: the input's first bytes pick a position, the rest is spliced in.
    let mut log = f.log.clone();
    if data.len() >= 2 {
        let at = (u16::from_le_bytes([data[0], data[1]]) as usize) % (log.len() + 1);
        let cut = data.get(2).map_or(0, |b| *b as usize % 8);
        let end = (at + cut).min(log.len());
        log.splice(at..end, data[3.min(data.len())..].iter().copied());
    }
    let mut lines = Vec::new();
    split_lines("fuzz", &log, &mut lines);
    let report = verify_lines(&lines, Verifier::new(&f.ring).with_checkpoint(f.checkpoint.clone()), &|_| {});
    if log != f.log {
        assert_ne!(report.exit_code(), 0, "an altered log verified as valid and complete");
    }
});
