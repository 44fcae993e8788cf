//! The governed API end to end: decisions and outcomes recorded, redaction, concurrency,
//! crash recovery (SIGKILL), torn tails, reconciliation, checkpoints, export.

use lumenflow_core::evidence::{kind, Record};
use lumenflow_core::export::{self, Format, LogFilter};
use lumenflow_core::governor::{Governor, GovernorOptions, Outcome};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::Durability;
use lumenflow_core::verify::{exit, Completeness, Integrity};
use lumenflow_core::{Action, Context, Effect, Policy, PolicySet};
use serde_json::json;
use std::path::{Path, PathBuf};

const POLICY: &str = r#"
version: 1
name: t
default: deny
rules:
  - id: bash
    effect: allow
    when: action.tool == "bash" && !shell.invokes(action.args.command, "rm -r -f")
  - id: http
    effect: require_approval
    when: action.tool == "http"
"#;

fn policies() -> PolicySet {
    PolicySet::single(Policy::from_yaml(POLICY, "t.yaml").unwrap())
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "lf-gov-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn key() -> KeyPair {
    KeyPair::from_seed(&[9; 32])
}

fn ring() -> Keyring {
    let mut r = Keyring::new();
    r.add(key().public());
    r
}

fn options(durability: Durability) -> GovernorOptions {
    GovernorOptions {
        durability,
        context: Context::new().with("worktree", "/repo"),
        ..GovernorOptions::default()
    }
}

fn bash(cmd: &str) -> Action {
    Action::new("bash", json!({ "command": cmd }))
        .unwrap()
        .with_session("s-1")
}

fn records(dir: &Path) -> Vec<Record> {
    export::read_records(dir).unwrap()
}

#[test]
fn decisions_and_outcomes_are_recorded_and_verify() {
    let dir = tempdir("basic");
    let g = Governor::open(&dir, policies(), key(), options(Durability::Sync)).unwrap();
    let d = g.decide(&bash("ls -la")).unwrap();
    assert!(d.allowed());
    g.record(
        &d.id,
        Outcome::success()
            .with_output(b"total 0")
            .with_duration(std::time::Duration::from_millis(12)),
    )
    .unwrap();
    let denied = g.decide(&bash("rm -rf /")).unwrap();
    assert_eq!(denied.decision.effect, Effect::Deny);
    let pending = g
        .decide(&Action::new("http", json!({"url": "https://x.io"})).unwrap())
        .unwrap();
    assert_eq!(pending.decision.effect, Effect::RequireApproval);
    let left_open = g.decide(&bash("pwd")).unwrap();
    assert!(left_open.allowed());
    g.close().unwrap();

    let recs = records(&dir);
    let kinds: Vec<&str> = recs.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "decision", "outcome", "decision", "outcome", "decision", "outcome", "decision",
            "outcome"
        ]
    );
    assert_eq!(recs[1].body["status"], "success");
    assert_eq!(recs[1].body["decision"], d.id);
    assert_eq!(recs[1].body["decision_hash"], d.hash);
    assert_eq!(recs[1].body["duration_ms"], 12);
    assert!(recs[1].body["output_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(recs[3].body["status"], "denied", "a deny is closed at once");
    assert_eq!(
        recs[5].body["status"], "awaiting_approval",
        "a decision that needs approval is closed at once; its approval is a new decision"
    );
    assert_eq!(
        recs[7].body["status"], "unknown",
        "closing closes what is still open"
    );
    assert_eq!(recs[7].body["decision"], left_open.id);
    assert_eq!(recs[0].body["decision"]["effect"], "allow");
    assert_eq!(recs[0].body["action"]["args"]["command"], "ls -la");
    assert!(recs[0].body["decision"]["policies"][0]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    let report = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), exit::VALID, "{report:?}");
    assert_eq!(
        report.completeness,
        Completeness::Complete { checkpoint_seq: 7 }
    );
    // Recording twice, or for a decision that does not exist, is refused.
    let g = Governor::open(&dir, policies(), key(), options(Durability::None)).unwrap();
    assert!(g.record(&d.id, Outcome::success()).is_err());
    assert!(g.record("nope:99", Outcome::success()).is_err());
}

#[test]
fn secrets_never_reach_a_record() {
    let dir = tempdir("redact");
    let mut o = options(Durability::None);
    o.redactor.fields = vec!["password".into()];
    let g = Governor::open(&dir, policies(), key(), o).unwrap();
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let a = Action::new("bash", json!({"command": format!("curl -H 'Authorization: Bearer {token}' x"), "password": "hunter2-but-long"})).unwrap();
    let d = g.decide(&a).unwrap();
    g.record(
        &d.id,
        Outcome::failure(format!("server said: bad credential {token}")),
    )
    .unwrap();
    drop(g);
    let text: String = std::fs::read_to_string(dir.join("segments/000000000001.jsonl")).unwrap();
    assert!(!text.contains(token) && !text.contains("hunter2"), "{text}");
    let recs = records(&dir);
    let red = recs[0].body["redactions"].as_array().unwrap();
    // The bearer credential starts first and covers the token: one redaction, of the first kind.
    assert!(
        red.iter()
            .any(|r| r["pointer"] == "/action/args/command" && r["kind"] == "bearer_token"),
        "{red:?}"
    );
    assert!(
        red.iter()
            .any(|r| r["pointer"] == "/action/args/password" && r["kind"] == "field"),
        "{red:?}"
    );
    // The input is committed to by a digest keyed with the directory's digest key: a
    // reader of the record (or of a bundle, which never carries the key) cannot confirm a
    // guessed password against it, as it could against a plain digest.
    let value = serde_json::to_value(&a).unwrap();
    let plain = lumenflow_core::canonical::digest(&value).unwrap();
    assert_ne!(recs[0].body["input_digest"], plain);
    let key_hex = std::fs::read_to_string(dir.join("digest.key")).unwrap();
    let key: [u8; 32] = lumenflow_core::keys::hex_decode(key_hex.trim())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        recs[0].body["input_digest"],
        lumenflow_core::canonical::keyed_digest(&key, &value).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("digest.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the digest key is private");
    }
    let bundle = dir.with_extension("lfb");
    lumenflow_core::export::export(&dir, &bundle, lumenflow_core::ExportFormat::Bundle).unwrap();
    assert!(!String::from_utf8_lossy(&std::fs::read(&bundle).unwrap()).contains(key_hex.trim()));
    assert!(!text.contains(key_hex.trim()));
    assert!(recs[1].body["error"]
        .as_str()
        .unwrap()
        .contains("[REDACTED:github_token]"));
}

#[test]
fn many_threads_one_chain() {
    let dir = tempdir("threads");
    let g = Governor::open(&dir, policies(), key(), options(Durability::Group)).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let g = &g;
            s.spawn(move || {
                for i in 0..50 {
                    let d = g.decide(&bash(&format!("echo {t} {i}"))).unwrap();
                    g.record(&d.id, Outcome::success()).unwrap();
                }
            });
        }
    });
    g.close().unwrap();
    let report = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), exit::VALID, "{report:?}");
    assert_eq!(report.kinds.get("decision"), Some(&400));
    assert_eq!(report.kinds.get("outcome"), Some(&400));
}

#[test]
fn torn_tail_is_cut_and_noted() {
    let dir = tempdir("torn");
    let g = Governor::open(&dir, policies(), key(), options(Durability::Sync)).unwrap();
    let d = g.decide(&bash("ls")).unwrap();
    g.record(&d.id, Outcome::success()).unwrap();
    drop(g);
    let seg = dir.join("segments/000000000001.jsonl");
    let before = std::fs::read(&seg).unwrap();
    // A crash in the middle of writing a record leaves a partial line.
    let partial = b"{\"body\":{\"action\":{\"tool\":\"ba";
    let mut torn = before.clone();
    torn.extend_from_slice(partial);
    std::fs::write(&seg, &torn).unwrap();
    let pre = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(
        pre.exit_code(),
        exit::TAMPERED,
        "a torn line is reported before repair"
    );
    let g = Governor::open(&dir, policies(), key(), options(Durability::Sync)).unwrap();
    g.decide(&bash("pwd")).unwrap();
    drop(g);
    let recs = records(&dir);
    let rec = recs
        .iter()
        .find(|r| r.kind == kind::RECOVERY)
        .expect("a recovery record");
    assert_eq!(rec.body["reason"], "torn_tail");
    assert_eq!(rec.body["bytes"], partial.len());
    assert_eq!(rec.body["offset"], before.len());
    let report = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), exit::VALID, "{report:?}");
}

#[test]
fn checkpoint_detects_truncation_and_export_round_trips() {
    let dir = tempdir("export");
    let g = Governor::open(&dir, policies(), key(), options(Durability::None)).unwrap();
    for i in 0..10 {
        let d = g.decide(&bash(&format!("echo {i}"))).unwrap();
        g.record(&d.id, Outcome::success()).unwrap();
    }
    let cp = g.checkpoint().unwrap().unwrap();
    drop(g);
    // Keep the checkpoint elsewhere, then cut the log's tail.
    let seg = dir.join("segments/000000000001.jsonl");
    let text = std::fs::read_to_string(&seg).unwrap();
    let keep: Vec<&str> = text.lines().take(15).collect();
    std::fs::write(&seg, keep.join("\n") + "\n").unwrap();
    let r = export::verify_path(&dir, Some(&ring()), Some(cp), &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::INCOMPLETE);
    assert!(
        matches!(
            r.completeness,
            Completeness::Incomplete {
                last_seq: Some(14),
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(r.integrity, Integrity::Valid);

    let dir = tempdir("export2");
    let g = Governor::open(&dir, policies(), key(), options(Durability::None)).unwrap();
    for i in 0..5 {
        let d = g.decide(&bash(&format!("echo {i}"))).unwrap();
        g.record(&d.id, Outcome::success()).unwrap();
    }
    drop(g);
    let out = dir.join("../bundle-export.lfb");
    assert_eq!(export::export(&dir, &out, Format::Bundle).unwrap(), 10);
    let r = export::verify_path(&out, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::VALID, "{r:?}");
    // A bundle verified only with the keys it ships proves consistency, not who signed.
    let r = export::verify_path(&out, None, None, &|_| {}).unwrap();
    assert_eq!(r.exit_code(), exit::UNPINNED, "{r:?}");
    let mut bytes = std::fs::read(&out).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 1;
    std::fs::write(&out, &bytes).unwrap();
    assert_eq!(
        export::verify_path(&out, None, None, &|_| {})
            .unwrap()
            .exit_code(),
        exit::TAMPERED
    );
    let csv = dir.join("../export.csv");
    export::export(&dir, &csv, Format::Csv).unwrap();
    let table = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(table.lines().count(), 11);
    assert!(table.lines().nth(1).unwrap().contains(",decision,") && table.contains("allow"));
    let only = export::filter_records(
        records(&dir),
        &LogFilter {
            kind: Some("outcome".into()),
            ..Default::default()
        },
    );
    assert_eq!(only.len(), 5);
    let by_session = export::filter_records(
        records(&dir),
        &LogFilter {
            session: Some("s-1".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        by_session.len(),
        10,
        "outcomes follow their decision's session"
    );
}

/// A child process for the crash test: appends decisions and outcomes until killed,
/// printing each acknowledged record. Does nothing unless run by `crash_recovery`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("LF_CRASH_CHILD_DIR") else {
        return;
    };
    let g = Governor::open(&dir, policies(), key(), options(Durability::None)).unwrap();
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let d = g.decide(&bash(&format!("echo {i}"))).unwrap();
        writeln!(out, "ack {} {}", d.id, d.hash).unwrap();
        out.flush().unwrap();
        if i % 3 != 0 {
            let r = g.record(&d.id, Outcome::success()).unwrap();
            writeln!(out, "ack {} {}", r.id(), r.hash).unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn crash_recovery() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempdir("crash");
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(String, String)> = Vec::new();
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _round in 0..25 {
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                Command::new(&exe)
                    .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
                    .env("LF_CRASH_CHILD_DIR", &dir)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Wait until every child is up and writing (on a loaded machine starting takes a
        // while), then let them run for a random time and kill them mid-write.
        let mut outs: Vec<std::io::BufReader<std::process::ChildStdout>> = children
            .iter_mut()
            .map(|c| std::io::BufReader::new(c.stdout.take().unwrap()))
            .collect();
        let mut firsts = Vec::new();
        for o in &mut outs {
            let mut first = String::new();
            while !first.contains("ack ") {
                if std::io::BufRead::read_line(o, &mut first).unwrap() == 0 {
                    break;
                }
            }
            firsts.push(first);
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(std::time::Duration::from_millis(5 + seed % 60));
        for c in &mut children {
            c.kill().unwrap(); // SIGKILL
        }
        for ((mut c, mut o), first) in children.into_iter().zip(outs).zip(firsts) {
            c.wait().unwrap();
            let mut s = first;
            o.read_to_string(&mut s).unwrap();
            for line in s.lines().filter(|l| l.starts_with("ack ")) {
                let mut p = line.split(' ').skip(1);
                acked.push((p.next().unwrap().to_owned(), p.next().unwrap().to_owned()));
            }
        }
    }
    assert!(
        acked.len() > 50,
        "the children acknowledged only {} records",
        acked.len()
    );
    // Reopening repairs any torn tail and closes what the killed governors left open.
    let g = Governor::open(&dir, policies(), key(), options(Durability::Sync)).unwrap();
    g.close().unwrap();
    let report = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), exit::VALID, "{report:?}");
    let recs = records(&dir);
    let by_id: std::collections::HashMap<String, &Record> =
        recs.iter().map(|r| (r.id(), r)).collect();
    for (id, hash) in &acked {
        let r = by_id
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged record {id} is missing"));
        assert_eq!(&r.hash, hash, "acknowledged record {id} changed");
    }
    // Every decision is closed exactly once.
    let mut outcomes: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in recs.iter().filter(|r| r.kind == kind::OUTCOME) {
        *outcomes
            .entry(r.body["decision"].as_str().unwrap())
            .or_default() += 1;
    }
    for r in recs.iter().filter(|r| r.kind == kind::DECISION) {
        assert_eq!(
            outcomes.get(r.id().as_str()),
            Some(&1),
            "decision {} closed {:?} times",
            r.id(),
            outcomes.get(r.id().as_str())
        );
    }
    // Killed governors leave decisions open; reopening closed them as unknown.
    assert!(recs
        .iter()
        .any(|r| r.kind == kind::OUTCOME && r.body["status"] == "unknown"));
}

#[test]
fn segments_rotate_and_stay_one_chain() {
    let dir = tempdir("rotate");
    let mut o = options(Durability::Group);
    o.segment_bytes = 4096;
    let g = Governor::open(&dir, policies(), key(), o).unwrap();
    for i in 0..40 {
        let d = g.decide(&bash(&format!("echo {i}"))).unwrap();
        g.record(&d.id, Outcome::success()).unwrap();
    }
    g.close().unwrap();
    let segments = std::fs::read_dir(dir.join("segments")).unwrap().count();
    assert!(segments > 5, "only {segments} segments");
    for e in std::fs::read_dir(dir.join("segments")).unwrap() {
        let len = e.unwrap().metadata().unwrap().len();
        assert!(len <= 4096 + 2048, "a segment grew to {len} bytes");
    }
    let report = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), exit::VALID, "{report:?}");
    assert_eq!(report.records, 80);
    // A second process appending after rotation follows the newest segment.
    let g = Governor::open(&dir, policies(), key(), options(Durability::None)).unwrap();
    g.decide(&bash("pwd")).unwrap();
    drop(g);
    let report = export::verify_path(&dir, Some(&ring()), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), exit::VALID, "{report:?}");
}
