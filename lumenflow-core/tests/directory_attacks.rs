//! Attacks on an evidence directory by whoever can write it (the governed agent running
//! shell commands as the same OS user, say), each as it would be tried: the writer must
//! never destroy signed records, never chain to what it cannot check, and never let a
//! checkpoint move backwards (spec/security.md, spec/evidence.md).

use lumenflow_core::evidence::{kind, Record};
use lumenflow_core::export;
use lumenflow_core::governor::{Governor, GovernorOptions, Outcome};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::{Durability, EvidenceError};
use lumenflow_core::verify::exit;
use lumenflow_core::{Action, Policy, PolicySet};
use serde_json::json;
use std::path::{Path, PathBuf};

const POLICY: &str = r#"
version: 1
name: t
default: deny
rules:
  - id: bash
    effect: allow
    when: action.tool == "bash"
"#;

fn policies() -> PolicySet {
    PolicySet::single(Policy::from_yaml(POLICY, "t.yaml").unwrap())
}

fn tempdir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("lf-attack-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn key() -> KeyPair {
    KeyPair::from_seed(&[21; 32])
}

fn ring() -> Keyring {
    let mut r = Keyring::new();
    r.add(key().public());
    r
}

fn open(dir: &Path) -> Result<Governor, EvidenceError> {
    Governor::open(
        dir,
        policies(),
        key(),
        GovernorOptions {
            durability: Durability::Sync,
            ..GovernorOptions::default()
        },
    )
}

fn bash(cmd: &str) -> Action {
    Action::new("bash", json!({ "command": cmd })).unwrap()
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("segments/000000000001.jsonl")
}

/// A governed session of `n` decisions with outcomes, closed (which checkpoints it).
fn session(dir: &Path, n: usize) {
    let g = open(dir).unwrap();
    for i in 0..n {
        let d = g.decide(&bash(&format!("echo {i}"))).unwrap();
        g.record(&d.id, Outcome::success()).unwrap();
    }
    g.close().unwrap();
}

/// The byte offset where each line of `data` starts.
fn line_starts(data: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            data.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

fn damaged(e: &EvidenceError) -> bool {
    matches!(e, EvidenceError::Damaged { .. })
}

/// The next writer's first append: opening may succeed, the append must not.
fn next_append(dir: &Path) -> Result<(), EvidenceError> {
    let g = open(dir)?;
    g.decide(&bash("pwd"))?;
    Ok(())
}

#[test]
fn cutting_inside_a_record_is_refused_not_recovered() {
    let dir = tempdir("cut");
    session(&dir, 3);
    let seg = segment(&dir);
    let data = std::fs::read(&seg).unwrap();
    // Cut in the middle of the fourth record: it and everything after it are gone.
    let starts = line_starts(&data);
    let cut = starts[3] + 10;
    std::fs::write(&seg, &data[..cut]).unwrap();
    let e = next_append(&dir).unwrap_err();
    assert!(damaged(&e), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("checkpoint") && msg.contains("seq"), "{msg}");
    // Nothing was cut or appended: the bytes are as the attacker left them.
    assert_eq!(std::fs::read(&seg).unwrap(), &data[..cut]);
    assert!(!dir.join("quarantine").exists());
}

#[test]
fn a_removed_final_newline_keeps_the_record() {
    let dir = tempdir("newline");
    session(&dir, 2);
    let seg = segment(&dir);
    let data = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &data[..data.len() - 1]).unwrap();
    next_append(&dir).unwrap();
    let recs = export::read_records(&dir).unwrap();
    assert!(
        recs.iter().all(|r| r.kind != kind::RECOVERY),
        "nothing recovered"
    );
    assert_eq!(
        recs.len(),
        4 + 2,
        "every signed record kept, one decision and its close added"
    );
    assert!(std::fs::read(&seg).unwrap().starts_with(&data));
    let r = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::VALID, "{r:?}");
}

#[test]
fn torn_bytes_are_quarantined_before_they_are_cut() {
    let dir = tempdir("quarantine");
    session(&dir, 1);
    let seg = segment(&dir);
    let mut data = std::fs::read(&seg).unwrap();
    let before = data.len();
    let partial = b"{\"body\":{\"action\":{\"tool\":\"ba";
    data.extend_from_slice(partial);
    std::fs::write(&seg, &data).unwrap();
    next_append(&dir).unwrap();
    let recs = export::read_records(&dir).unwrap();
    let rec = recs.iter().find(|r| r.kind == kind::RECOVERY).unwrap();
    assert_eq!(rec.body["offset"], before);
    let kept = rec.body["quarantine"].as_str().unwrap();
    assert_eq!(std::fs::read(dir.join(kept)).unwrap(), partial);
}

#[test]
fn a_segment_shortened_under_a_running_writer_is_refused() {
    let dir = tempdir("shrink");
    let g = open(&dir).unwrap();
    for i in 0..3 {
        g.decide(&bash(&format!("echo {i}"))).unwrap();
    }
    let seg = segment(&dir);
    let data = std::fs::read(&seg).unwrap();
    let last_start = data[..data.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    // Drop the last whole record (a one-shot grant being used, say).
    std::fs::write(&seg, &data[..last_start]).unwrap();
    let e = g.decide(&bash("again")).unwrap_err();
    assert!(matches!(e, EvidenceError::Damaged { .. }), "{e}");
    assert!(e.to_string().contains("shorter"), "{e}");
    // Deleting the segment is refused the same way.
    std::fs::remove_file(&seg).unwrap();
    let e = g.decide(&bash("again")).unwrap_err();
    assert!(matches!(e, EvidenceError::Damaged { .. }), "{e}");
}

#[test]
fn a_missing_segment_is_refused() {
    let dir = tempdir("missing");
    let g = Governor::open(
        &dir,
        policies(),
        key(),
        GovernorOptions {
            durability: Durability::None,
            segment_bytes: 2048,
            ..GovernorOptions::default()
        },
    )
    .unwrap();
    for i in 0..20 {
        let d = g.decide(&bash(&format!("echo {i}"))).unwrap();
        g.record(&d.id, Outcome::success()).unwrap();
    }
    drop(g);
    assert!(dir.join("segments/000000000003.jsonl").exists());
    std::fs::remove_file(dir.join("segments/000000000002.jsonl")).unwrap();
    let e = next_append(&dir).unwrap_err();
    assert!(damaged(&e), "{e}");
    assert!(e.to_string().contains("000000000002"), "{e}");
}

#[test]
fn a_head_with_a_bad_signature_is_not_extended() {
    let dir = tempdir("badsig");
    let g = open(&dir).unwrap();
    g.decide(&bash("ls")).unwrap();
    drop(g);
    // Keep the checkpoint out of the way: this is about the head's signature alone.
    let _ = std::fs::remove_file(dir.join("checkpoint.json"));
    let seg = segment(&dir);
    let text = std::fs::read_to_string(&seg).unwrap();
    let last = text.lines().last().unwrap();
    let mut rec: serde_json::Value = serde_json::from_str(last).unwrap();
    // A signature by nobody, over the right hash.
    rec["sig"] = json!("ab".repeat(64));
    let forged = lumenflow_core::canonical::to_string(&rec).unwrap();
    assert!(Record::parse(forged.as_bytes()).is_ok());
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    lines.push(&forged);
    std::fs::write(&seg, lines.join("\n") + "\n").unwrap();
    let e = next_append(&dir).unwrap_err();
    assert!(damaged(&e), "{e}");
    assert!(e.to_string().contains("signed"), "{e}");
}

#[test]
fn checkpoints_never_move_backwards() {
    let dir = tempdir("backwards");
    session(&dir, 3);
    let cp = lumenflow_core::store::read_checkpoint(&dir)
        .unwrap()
        .unwrap();
    let old = lumenflow_core::evidence::Checkpoint::seal(
        &cp.stream,
        &lumenflow_core::evidence::Head {
            seq: 1,
            hash: export::read_records(&dir).unwrap()[1].hash.clone(),
        },
        &cp.ts,
        &key(),
    );
    let e = lumenflow_core::write_checkpoint(&dir, &old).unwrap_err();
    assert!(e.to_string().contains("backwards"), "{e}");
    assert_eq!(
        lumenflow_core::store::read_checkpoint(&dir)
            .unwrap()
            .unwrap()
            .seq,
        cp.seq
    );
}

#[test]
fn a_planted_record_by_a_published_key_decides_nothing() {
    let dir = tempdir("planted");
    let g = open(&dir).unwrap();
    g.decide(&bash("ls")).unwrap();
    // The attacker makes a key, publishes it in keys/, and writes a record with it.
    let evil = KeyPair::from_seed(&[66; 32]);
    std::fs::write(
        dir.join("keys")
            .join(format!("{}.pub", evil.id().replace(':', "_"))),
        evil.public_pem(),
    )
    .unwrap();
    let other = Governor::open(
        &dir,
        policies(),
        evil,
        GovernorOptions {
            durability: Durability::Sync,
            ..GovernorOptions::default()
        },
    )
    .unwrap();
    other.decide(&bash("planted")).unwrap();
    drop(other);
    g.decide(&bash("after")).unwrap();
    let rejected = g.rejected_records();
    assert!(
        rejected.iter().any(|r| r.contains("decision")),
        "{rejected:?}"
    );
}

/// Drops the last `drop` records of a bundle and recomputes its manifest, as a holder of
/// the bundle can; `checkpoint` replaces the manifest's checkpoint if given.
fn cut_bundle(path: &Path, drop: usize, checkpoint: Option<serde_json::Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let mut manifest: serde_json::Value = serde_json::from_str(lines.remove(0)).unwrap();
    lines.truncate(lines.len() - drop);
    let mut body = String::new();
    for l in &lines {
        body.push_str(l);
        body.push('\n');
    }
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    manifest["records"] = json!(lines.len());
    manifest["head"] = json!({"seq": last["seq"], "hash": last["hash"]});
    manifest["records_digest"] = json!(lumenflow_core::sha256_digest(body.as_bytes()));
    if let Some(c) = checkpoint {
        manifest["checkpoint"] = c;
    }
    let m = lumenflow_core::canonical::to_string(&manifest).unwrap();
    std::fs::write(path, format!("{m}\n{body}")).unwrap();
}

#[test]
fn a_bundle_with_its_tail_dropped_does_not_verify_as_whole() {
    let dir = tempdir("bundle");
    session(&dir, 4);
    let out = dir.join("audit.lfb");
    lumenflow_core::export_signed(&dir, &out, lumenflow_core::ExportFormat::Bundle, &key())
        .unwrap();
    let whole = export::verify_path(&out, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(whole.exit_code(), exit::VALID, "{whole:?}");

    // Tail dropped, manifest recomputed: the signed checkpoint still names the real end.
    let cut = dir.join("cut.lfb");
    std::fs::copy(&out, &cut).unwrap();
    cut_bundle(&cut, 2, None);
    let r = export::verify_path(&cut, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::INCOMPLETE, "{r:?}");

    // ...and with the checkpoint removed as well: not proven complete either.
    let bare = dir.join("bare.lfb");
    std::fs::copy(&out, &bare).unwrap();
    cut_bundle(&bare, 2, Some(serde_json::Value::Null));
    let r = export::verify_path(&bare, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::INCOMPLETE, "{r:?}");
    assert!(
        matches!(
            r.completeness,
            lumenflow_core::Completeness::Uncovered {
                checkpoint_seq: None,
                ..
            }
        ),
        "{r:?}"
    );
}

#[test]
fn a_segment_replaced_under_a_running_writer_gets_its_appends() {
    // `sed -i`, an editor or `cp x seg.tmp && mv seg.tmp seg` put a new file (same bytes)
    // at the segment's path; the writer must append there, not to the unlinked old file.
    let dir = tempdir("replaced");
    let g = open(&dir).unwrap();
    g.decide(&bash("one")).unwrap();
    g.decide(&bash("two")).unwrap();
    let seg = segment(&dir);
    let tmp = dir.join("segment.tmp");
    std::fs::copy(&seg, &tmp).unwrap();
    std::fs::rename(&tmp, &seg).unwrap();
    let third = g.decide(&bash("three")).unwrap();
    let recs = export::read_records(&dir).unwrap();
    assert!(
        recs.iter().any(|r| r.id() == third.id),
        "the record appended after the replacement is not in the segment"
    );
    drop(g);
    let r = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::VALID, "{r:?}");
}

/// The bytes of every file under `dir/quarantine`, concatenated in name order.
fn quarantined(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("quarantine"))
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().to_string(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn last_record(dir: &Path) -> Record {
    export::read_records(dir).unwrap().pop().unwrap()
}

#[test]
fn repair_is_recorded_keeps_what_it_moves_and_lets_the_log_go_on() {
    let dir = tempdir("repair-cut");
    session(&dir, 3);
    let external = std::fs::read_to_string(dir.join("checkpoint.json")).unwrap();
    let seg = segment(&dir);
    let data = std::fs::read(&seg).unwrap();
    let starts = line_starts(&data);
    // The attacker cuts inside the fourth record: the writer refuses.
    let cut = starts[3] + 10;
    std::fs::write(&seg, &data[..cut]).unwrap();
    assert!(damaged(&next_append(&dir).unwrap_err()));
    // A repair without a reason is refused and changes nothing.
    let e = lumenflow_core::repair_dir(&dir, &key(), None, " ").unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
    assert_eq!(std::fs::read(&seg).unwrap(), &data[..cut]);
    // The operator repairs, on the record.
    let rec = lumenflow_core::repair_dir(&dir, &key(), None, "restored from nothing").unwrap();
    assert_eq!(rec.kind, kind::RECOVERY);
    assert_eq!(
        rec.seq, 3,
        "chained right after the last intact record (seqs start at 0)"
    );
    assert_eq!(rec.body["reason"], "repair");
    assert_eq!(rec.body["detail"], "restored from nothing");
    assert_eq!(rec.body["first_removed_seq"], 3);
    assert_eq!(rec.body["checkpoint_superseded"]["seq"], 5);
    // Nothing was destroyed: the cut bytes and the checkpoint are in quarantine, with
    // their digests in the record.
    let q = quarantined(&dir);
    let torn = q.iter().find(|(n, _)| n.ends_with(".repair")).unwrap();
    assert_eq!(torn.1, &data[starts[3]..cut]);
    let moved = rec.body["quarantined"].as_array().unwrap();
    assert_eq!(
        moved[0]["digest"],
        lumenflow_core::canonical::sha256_digest(&torn.1)
    );
    let cp = q
        .iter()
        .find(|(n, _)| n.starts_with("checkpoint-"))
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cp.1), external);
    // The log goes on and verifies with pinned keys...
    next_append(&dir).unwrap();
    let r = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::VALID, "{r:?}");
    // ...but never as the log the old checkpoint signed.
    let old = lumenflow_core::Checkpoint::parse(&external).unwrap();
    let r = export::verify_path(&dir, Some(&ring()), Some(old), &|_| {}).unwrap();
    assert_ne!(r.exit_code(), exit::VALID, "{r:?}");
}

#[test]
fn repair_cuts_from_an_edited_record_and_from_a_foreign_head() {
    let dir = tempdir("repair-edit");
    session(&dir, 2);
    let _ = std::fs::remove_file(dir.join("checkpoint.json"));
    let seg = segment(&dir);
    let text = std::fs::read_to_string(&seg).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len();
    // The second decision (seq 2) altered in place (its hash no longer matches).
    assert!(lines[2].contains("echo 1"));
    lines[2] = lines[2].replacen("echo 1", "echo X", 1);
    std::fs::write(&seg, lines.join("\n") + "\n").unwrap();
    let rec = lumenflow_core::repair_dir(&dir, &key(), None, "record 2 edited").unwrap();
    assert_eq!(rec.seq, 2);
    assert_eq!(rec.body["first_removed_seq"], 2);
    assert!(
        rec.body["cut"]["problem"]
            .as_str()
            .unwrap()
            .contains("hash"),
        "{}",
        rec.body
    );
    let kept: Vec<u8> = quarantined(&dir)
        .into_iter()
        .filter(|(n, _)| n.ends_with(".repair"))
        .flat_map(|(_, b)| b)
        .collect();
    assert_eq!(
        String::from_utf8(kept).unwrap(),
        lines[2..n].join("\n") + "\n"
    );
    let r = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::VALID, "{r:?}");

    // A head signed by a planted key: refused, then repaired away.
    let dir = tempdir("repair-foreign");
    session(&dir, 1);
    let _ = std::fs::remove_file(dir.join("checkpoint.json"));
    let head = last_record(&dir);
    let stranger = KeyPair::from_seed(&[99; 32]);
    let planted = Record::seal(
        &head.stream,
        Some(&head.head()),
        "2026-01-01T00:00:00.000000Z",
        kind::DECISION,
        json!({"planted": true}),
        &stranger,
    );
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(segment(&dir))
        .unwrap();
    std::io::Write::write_all(&mut f, &[planted.to_line(), b"\n".to_vec()].concat()).unwrap();
    drop(f);
    assert!(damaged(&next_append(&dir).unwrap_err()));
    let rec = lumenflow_core::repair_dir(&dir, &key(), None, "planted head").unwrap();
    assert_eq!(rec.seq, planted.seq, "the planted record's place is taken");
    assert!(
        rec.body["cut"]["problem"]
            .as_str()
            .unwrap()
            .contains("neither trusted nor published"),
        "{}",
        rec.body
    );
    next_append(&dir).unwrap();
}

#[test]
fn repairing_an_intact_log_changes_nothing() {
    let dir = tempdir("repair-none");
    session(&dir, 2);
    let before = std::fs::read(segment(&dir)).unwrap();
    let e = lumenflow_core::repair_dir(&dir, &key(), None, "why not").unwrap_err();
    assert!(e.to_string().contains("nothing to repair"), "{e}");
    assert_eq!(std::fs::read(segment(&dir)).unwrap(), before);
    assert!(dir.join("checkpoint.json").exists());
}
