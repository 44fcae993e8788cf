//! Tampering with a log of 1,000 records: every kind of single-record modification, at
//! every position, must be detected.
//!
//! The verifier is incremental, so a modification at record `i` is checked by cloning
//! the verifier's state after records `0..i` (the same state a full verification reaches)
//! and pushing the modified remainder until a break is found. Truncations are checked
//! against a checkpoint of the full log.

use lumenflow_core::evidence::{kind, Checkpoint, Head, Record};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::RawLine;
use lumenflow_core::verify::{exit, Completeness, Integrity, Report, Verifier};
use serde_json::json;

const N: u64 = 1000;

fn log(key: &KeyPair, stream: &str, n: u64) -> Vec<Record> {
    let mut head: Option<Head> = None;
    (0..n)
        .map(|i| {
            let (k, body) = if i % 2 == 0 {
                (kind::DECISION, json!({"action": {"tool": "bash", "args": {"command": format!("echo {i}")}}, "decision": {"effect": "allow"}}))
            } else {
                (kind::OUTCOME, json!({"decision": format!("{stream}:{}", i - 1), "status": "success", "duration_ms": i}))
            };
            let ts = format!("2026-11-21T10:{:02}:{:02}.{:06}Z", (i / 60) % 60, i % 60, i);
            let r = Record::seal(stream, head.as_ref(), &ts, k, body, key);
            head = Some(r.head());
            r
        })
        .collect()
}

fn raw(i: usize, bytes: Vec<u8>) -> RawLine {
    RawLine {
        segment: "000000000001.jsonl".into(),
        line: i as u64 + 1,
        bytes,
        complete: true,
    }
}

/// Pushes `rest` into a copy of `base` until a break, and reports.
fn check(base: &Verifier<'_>, rest: impl IntoIterator<Item = RawLine>) -> Report {
    let mut v = base.clone();
    for l in rest {
        v.push(&l);
        if v.is_broken() {
            break;
        }
    }
    v.finish()
}

fn broken_at(r: &Report) -> Option<u64> {
    match &r.integrity {
        Integrity::Broken(b) => Some(b.seq),
        Integrity::Valid => None,
    }
}

/// Replaces one character inside the value of member `field` with a different character
/// of the same class, so the line stays valid JSON and only the crypto can tell.
fn alter_field(line: &str, field: &str) -> String {
    let key = format!("\"{field}\":");
    let start = line
        .find(&key)
        .unwrap_or_else(|| panic!("{field} in {line}"))
        + key.len();
    let mut bytes = line.as_bytes().to_vec();
    let i = (start..bytes.len())
        .find(|&i| bytes[i].is_ascii_alphanumeric())
        .unwrap();
    bytes[i] = match bytes[i] {
        b'0'..=b'8' => bytes[i] + 1,
        b'9' => b'0',
        b'a'..=b'e' => bytes[i] + 1,
        b'f' => b'a',
        b'g'..=b'y' => bytes[i] + 1,
        b'z' => b'a',
        b'A'..=b'Y' => bytes[i] + 1,
        _ => b'A',
    };
    String::from_utf8(bytes).unwrap()
}

/// Flips the lowest bit of the byte in the middle of member `field`'s value.
fn flip_field(line: &str, field: &str) -> Vec<u8> {
    let key = format!("\"{field}\":");
    let start = line.find(&key).unwrap() + key.len();
    let end = line[start..]
        .find(",\"")
        .map_or(line.len() - 1, |e| start + e);
    let mut bytes = line.as_bytes().to_vec();
    bytes[(start + end) / 2] ^= 1;
    bytes
}

const FIELDS: [&str; 10] = [
    "v", "stream", "seq", "prev", "ts", "kind", "body", "key", "hash", "sig",
];

#[test]
fn every_single_record_modification_is_detected() {
    let key = KeyPair::from_seed(&[1; 32]);
    let attacker = KeyPair::from_seed(&[2; 32]);
    let mut ring = Keyring::new();
    ring.add(key.public());
    let records = log(&key, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", N);
    let other = log(&key, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", N);
    let lines: Vec<RawLine> = records
        .iter()
        .enumerate()
        .map(|(i, r)| raw(i, r.to_line()))
        .collect();
    let head = records.last().unwrap().head();
    let checkpoint = Checkpoint::seal(
        &records[0].stream,
        &head,
        "2026-11-21T11:00:00.000000Z",
        &key,
    );

    // The untouched log is valid and complete.
    let mut base = Verifier::new(&ring).with_checkpoint(checkpoint.clone());
    let full = check(&base, lines.clone());
    assert_eq!(full.exit_code(), exit::VALID, "{full:?}");
    assert_eq!(
        full.completeness,
        Completeness::Complete {
            checkpoint_seq: N - 1
        }
    );

    let mut checked = 0u64;
    for i in 0..N as usize {
        let seq = i as u64;
        let text = String::from_utf8(lines[i].bytes.clone()).unwrap();
        let rest = || lines[i + 1..].iter().cloned();

        // A flipped byte, and an altered character, in every field.
        for f in FIELDS {
            for bytes in [alter_field(&text, f).into_bytes(), flip_field(&text, f)] {
                let r = check(&base, std::iter::once(raw(i, bytes)).chain(rest()));
                assert_eq!(
                    broken_at(&r),
                    Some(seq),
                    "field {f} of record {i}: {:?}",
                    r.integrity
                );
                checked += 1;
            }
        }
        // Deletion: the next record no longer follows; the last one is missed by the checkpoint.
        let r = check(&base, rest());
        if i + 1 < N as usize {
            assert_eq!(broken_at(&r), Some(seq), "deleting {i}");
        } else {
            assert_eq!(
                r.exit_code(),
                exit::INCOMPLETE,
                "deleting the last record: {r:?}"
            );
        }
        // Duplicate (a copy inserted after the original).
        let r = check(
            &base,
            [lines[i].clone(), lines[i].clone()]
                .into_iter()
                .chain(rest()),
        );
        assert_eq!(broken_at(&r), Some(seq + 1), "duplicating {i}");
        // Insertion of a well-formed, correctly chained record signed by another key.
        let prev = if i == 0 {
            None
        } else {
            Some(records[i - 1].head())
        };
        let forged = Record::seal(
            &records[i].stream,
            prev.as_ref(),
            &records[i].ts,
            kind::DECISION,
            json!({"forged": true}),
            &attacker,
        );
        let r = check(
            &base,
            [raw(i, forged.to_line()), lines[i].clone()]
                .into_iter()
                .chain(rest()),
        );
        assert_ne!(
            r.exit_code(),
            exit::VALID,
            "inserting a forged record at {i}"
        );
        assert!(r.unknown_keys.contains(&attacker.id().to_owned()) || broken_at(&r).is_some());
        // Swap with the next record.
        if i + 1 < N as usize {
            let r = check(
                &base,
                [lines[i + 1].clone(), lines[i].clone()]
                    .into_iter()
                    .chain(lines[i + 2..].iter().cloned()),
            );
            assert_eq!(broken_at(&r), Some(seq), "swapping {i} and {}", i + 1);
        }
        // Splice: the same position from another stream signed by the same key.
        let r = check(
            &base,
            std::iter::once(raw(i, other[i].to_line())).chain(rest()),
        );
        assert_eq!(
            broken_at(&r),
            Some(seq),
            "splicing record {i} of another stream"
        );
        // Key substitution: record i re-signed by another key (its key id changes with it).
        let resigned = Record::seal(
            &records[i].stream,
            prev.as_ref(),
            &records[i].ts,
            &records[i].kind,
            records[i].body.clone(),
            &attacker,
        );
        let r = check(
            &base,
            std::iter::once(raw(i, resigned.to_line())).chain(rest()),
        );
        assert_ne!(r.exit_code(), exit::VALID, "re-signing record {i}");
        // Tail truncation after i records, against the checkpoint.
        let r = base.clone().finish();
        assert_eq!(r.exit_code(), exit::INCOMPLETE, "truncating to {i} records");
        checked += 7;

        base.push(&lines[i]);
    }
    assert!(checked >= N * 26, "{checked}");
}

#[test]
fn whole_log_resigned_by_another_key_is_an_unknown_key() {
    let key = KeyPair::from_seed(&[1; 32]);
    let attacker = KeyPair::from_seed(&[2; 32]);
    let mut ring = Keyring::new();
    ring.add(key.public());
    let forged = log(&attacker, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 50);
    let lines: Vec<RawLine> = forged
        .iter()
        .enumerate()
        .map(|(i, r)| raw(i, r.to_line()))
        .collect();
    let r = check(&Verifier::new(&ring), lines.clone());
    assert_eq!(r.exit_code(), exit::UNKNOWN_KEY);
    assert_eq!(r.unknown_keys, vec![attacker.id().to_owned()]);
    // Rotation: a log signed by two keys is valid with both in the keyring.
    let mut head = None;
    let rotated: Vec<RawLine> = (0..20)
        .map(|i| {
            let k = if i < 10 { &key } else { &attacker };
            let r = Record::seal(
                "cccccccccccccccccccccccccccccccc",
                head.as_ref(),
                "2026-01-01T00:00:00.000000Z",
                kind::DECISION,
                json!({"i": i}),
                k,
            );
            head = Some(r.head());
            raw(i as usize, r.to_line())
        })
        .collect();
    assert_eq!(
        check(&Verifier::new(&ring), rotated.clone()).exit_code(),
        exit::UNKNOWN_KEY
    );
    ring.add(attacker.public());
    assert_eq!(
        check(&Verifier::new(&ring), rotated).exit_code(),
        exit::VALID
    );
}

#[test]
fn parallel_verification_matches_incremental() {
    let key = KeyPair::from_seed(&[1; 32]);
    let mut ring = Keyring::new();
    ring.add(key.public());
    let records = log(&key, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 300);
    let mut lines: Vec<RawLine> = records
        .iter()
        .enumerate()
        .map(|(i, r)| raw(i, r.to_line()))
        .collect();
    lines[177].bytes[40] ^= 1;
    let a = lumenflow_core::verify::verify_lines(&lines, Verifier::new(&ring), &|_| {});
    let b = check(&Verifier::new(&ring), lines.clone());
    assert_eq!(a.integrity, b.integrity);
    assert_eq!(broken_at(&a), Some(177));
}
