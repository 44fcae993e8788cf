//! Cross-language evidence vectors in spec/vectors/evidence: a fixed-seed key, records
//! with their attested canonical bytes, hashes and signatures, a checkpoint, and
//! tampered logs with their expected verdicts. Every binding runs these.
//!
//! `cargo test -p lumenflow-core --test evidence_vectors -- --ignored` regenerates them
//! (Ed25519 signatures are deterministic, so regenerating gives the same bytes).

use lumenflow_core::canonical;
use lumenflow_core::evidence::{kind, Checkpoint, Head, Record};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::split_lines;
use lumenflow_core::verify::{verify_lines, Verifier};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/evidence");
const SEED: [u8; 32] = [0x4c; 32];
const OTHER_SEED: [u8; 32] = [0x77; 32];
const STREAM: &str = "0123456789abcdef0123456789abcdef";

fn records(key: &KeyPair) -> Vec<Record> {
    let items = [
        (
            kind::DECISION,
            json!({"action": {"tool": "bash", "args": {"command": "git status"}, "actor": {"id": "agent-7", "roles": [], "kind": "agent"}, "session": "s-1", "run": "", "metadata": {}}, "decision": {"effect": "allow", "decided_by": "rule", "deciding_rules": [{"policy": "p", "rule": "bash"}]}, "input_digest": "sha256:00", "context_digest": "sha256:00", "redactions": [], "instance": "i"}),
        ),
        (
            kind::OUTCOME,
            json!({"decision": format!("{STREAM}:0"), "status": "success", "duration_ms": 12, "output_digest": canonical::sha256_digest(b"ok\n"), "instance": "i"}),
        ),
        (
            kind::RECOVERY,
            json!({"reason": "torn_tail", "segment": "000000000001.jsonl", "offset": 812, "bytes": 17, "digest": canonical::sha256_digest(b"{\"body\":{\"actio")}),
        ),
        (
            kind::DECISION,
            json!({"action": {"tool": "write", "args": {"path": "é/ü.txt", "content": "[REDACTED:github_token]", "n": 1.5e-7}}, "redactions": [{"pointer": "/action/args/content", "kind": "github_token"}], "decision": {"effect": "deny"}}),
        ),
    ];
    let mut head: Option<Head> = None;
    items
        .into_iter()
        .enumerate()
        .map(|(i, (k, body))| {
            let r = Record::seal(
                STREAM,
                head.as_ref(),
                &format!("2026-11-21T12:00:0{i}.000000Z"),
                k,
                body,
                key,
            );
            head = Some(r.head());
            r
        })
        .collect()
}

fn jsonl(rs: &[Record]) -> String {
    rs.iter()
        .map(|r| format!("{}\n", String::from_utf8(r.to_line()).unwrap()))
        .collect()
}

#[test]
#[ignore = "regenerates spec/vectors/evidence"]
fn regenerate_evidence_vectors() {
    let key = KeyPair::from_seed(&SEED);
    let other = KeyPair::from_seed(&OTHER_SEED);
    let rs = records(&key);
    std::fs::create_dir_all(format!("{DIR}/tampered")).unwrap();
    std::fs::write(format!("{DIR}/log.jsonl"), jsonl(&rs)).unwrap();
    let cp = Checkpoint::seal(STREAM, &rs[3].head(), "2026-11-21T12:01:00.000000Z", &key);
    std::fs::write(
        format!("{DIR}/checkpoint.json"),
        format!("{}\n", cp.to_json()),
    )
    .unwrap();
    let expected: Vec<Value> = rs
        .iter()
        .map(|r| {
            let mut attested = serde_json::to_value(r).unwrap();
            let o = attested.as_object_mut().unwrap();
            o.remove("hash");
            o.remove("sig");
            json!({"seq": r.seq, "attested_canonical": canonical::to_string(&attested).unwrap(), "hash": r.hash, "sig": r.sig})
        })
        .collect();
    let doc = json!({
        "description": "Records of spec/vectors/evidence/log.jsonl. hash = \"sha256:\" + hex(SHA-256(\"lumenflow.record.v1\" NUL || attested_canonical)); sig = hex(Ed25519(seed, \"lumenflow.sig.v1\" NUL || the 32 hash bytes)). The key id is \"ed25519:\" + hex(SHA-256(\"lumenflow.key.v1\" NUL || public key)[0..16]).",
        "seed_hex": canonical::hex(&SEED),
        "public_key_hex": canonical::hex(key.public().as_bytes()),
        "public_key_pem": key.public_pem(),
        "key_id": key.id(),
        "other_public_key_pem": other.public_pem(),
        "stream": STREAM,
        "records": expected,
    });
    std::fs::write(
        format!("{DIR}/records.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();

    // Tampered logs and their verdicts (verified with the first key and the checkpoint).
    let lines: Vec<String> = jsonl(&rs).lines().map(str::to_owned).collect();
    let mut cases: Vec<(String, String, i32, Option<u64>)> = Vec::new();
    let mut add = |name: &str, text: String, exit: i32, seq: Option<u64>| {
        std::fs::write(format!("{DIR}/tampered/{name}.jsonl"), &text).unwrap();
        cases.push((name.into(), text, exit, seq));
    };
    add("valid", lines.join("\n") + "\n", 0, None);
    add(
        "altered-body",
        lines.join("\n").replacen("git status", "git push", 1) + "\n",
        1,
        Some(0),
    );
    add(
        "deleted-record",
        [&lines[0], &lines[2], &lines[3]]
            .map(|s| s.as_str())
            .join("\n")
            + "\n",
        1,
        Some(1),
    );
    add(
        "swapped-records",
        [&lines[0], &lines[2], &lines[1], &lines[3]]
            .map(|s| s.as_str())
            .join("\n")
            + "\n",
        1,
        Some(1),
    );
    add(
        "duplicated-record",
        [&lines[0], &lines[1], &lines[1], &lines[2], &lines[3]]
            .map(|s| s.as_str())
            .join("\n")
            + "\n",
        1,
        Some(2),
    );
    add(
        "not-canonical",
        lines.join("\n").replacen("\"seq\":1", "\"seq\": 1", 1) + "\n",
        1,
        Some(1),
    );
    add("truncated-tail", lines[..2].join("\n") + "\n", 2, None);
    add(
        "torn-final-line",
        lines.join("\n") + "\n{\"body\":{\"act",
        1,
        Some(4),
    );
    let resigned = {
        let mut head = None;
        let rs2: Vec<Record> = rs
            .iter()
            .map(|r| {
                let n = Record::seal(
                    STREAM,
                    head.as_ref(),
                    &r.ts,
                    &r.kind,
                    r.body.clone(),
                    &other,
                );
                head = Some(n.head());
                n
            })
            .collect();
        jsonl(&rs2)
    };
    // Re-signed by another key: consistent in itself, signed by an unknown key, and its
    // record 3 is not the one the checkpoint signed: tampered at seq 3.
    add("resigned-by-other-key", resigned, 1, Some(3));
    let verdicts: Vec<Value> = cases
        .iter()
        .map(|(n, _, e, s)| json!({"file": format!("tampered/{n}.jsonl"), "exit_code": e, "broken_seq": s}))
        .collect();
    std::fs::write(
        format!("{DIR}/tampered/verdicts.json"),
        serde_json::to_string_pretty(&json!({"description": "Each log verified with public_key_pem of records.json as the only trusted key and checkpoint.json: expected exit code (0 valid, 1 tampered, 2 incomplete, 3 unknown key) and the first broken sequence number.", "cases": verdicts})).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn records_match_the_vectors() {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/records.json")).unwrap())
            .unwrap();
    let seed: [u8; 32] = lumenflow_core::keys::hex_decode(doc["seed_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = KeyPair::from_seed(&seed);
    assert_eq!(key.id(), doc["key_id"]);
    assert_eq!(
        canonical::hex(key.public().as_bytes()),
        doc["public_key_hex"]
    );
    // Sealing the same content again gives the same bytes (deterministic signatures).
    let log = std::fs::read_to_string(format!("{DIR}/log.jsonl")).unwrap();
    assert_eq!(jsonl(&records(&key)), log);
    for (r, line) in doc["records"].as_array().unwrap().iter().zip(log.lines()) {
        // Independent check of the hash rule.
        let mut h = Sha256::new();
        h.update(b"lumenflow.record.v1\0");
        h.update(r["attested_canonical"].as_str().unwrap().as_bytes());
        assert_eq!(
            format!("sha256:{}", canonical::hex(&h.finalize())),
            r["hash"]
        );
        let rec = Record::parse(line.as_bytes()).unwrap();
        assert_eq!(rec.hash, r["hash"]);
        assert_eq!(rec.sig, r["sig"]);
    }
}

#[test]
fn tampered_logs_get_their_verdicts() {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/records.json")).unwrap())
            .unwrap();
    let mut ring = Keyring::new();
    ring.add(
        lumenflow_core::keys::parse_public(doc["public_key_pem"].as_str().unwrap(), "vector")
            .unwrap(),
    );
    let cp = Checkpoint::parse(&std::fs::read_to_string(format!("{DIR}/checkpoint.json")).unwrap())
        .unwrap();
    let verdicts: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DIR}/tampered/verdicts.json")).unwrap(),
    )
    .unwrap();
    let cases = verdicts["cases"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for c in cases {
        let data = std::fs::read(format!("{DIR}/{}", c["file"].as_str().unwrap())).unwrap();
        let mut lines = Vec::new();
        split_lines("log", &data, &mut lines);
        let report = verify_lines(
            &lines,
            Verifier::new(&ring).with_checkpoint(cp.clone()),
            &|_| {},
        );
        assert_eq!(
            report.exit_code() as i64,
            c["exit_code"].as_i64().unwrap(),
            "{}: {report:?}",
            c["file"]
        );
        let seq = match &report.integrity {
            lumenflow_core::verify::Integrity::Broken(b) => Some(b.seq),
            _ => None,
        };
        assert_eq!(
            serde_json::to_value(seq).unwrap(),
            c["broken_seq"],
            "{}",
            c["file"]
        );
    }
}
