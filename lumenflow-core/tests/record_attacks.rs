//! Attacks through what goes into records and how records are spelled: a substituted
//! policy, a refund by mislabelled outcome, an integer JSON cannot carry exactly, a
//! secret in an override reason, bytes that change and still verify, text that drives
//! a terminal or a spreadsheet, and input that used to panic.

use lumenflow_core::governor::{Governor, GovernorOptions, Outcome, Status, Verdict};
use lumenflow_core::keys::{KeyPair, Keyring};
use lumenflow_core::store::Durability;
use lumenflow_core::verify::exit;
use lumenflow_core::{
    csv_cell, terminal_text, verify_records, Action, Approver, DecidedBy, Error, Policy, PolicySet,
};
use serde_json::json;
use std::path::{Path, PathBuf};

const POLICY: &str = r#"
version: 1
name: ops
default: deny
rules:
  - id: no-prod-db
    effect: deny
    when: action.tool == "sql" && action.args.db == "prod"
    overridable_by: ["role:sre"]
  - id: sql
    effect: allow
    when: action.tool == "sql"
  - id: pay
    effect: require_approval
    when: action.tool == "pay"
    approvers: ["user:carol"]
"#;

fn tempdir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("lf-rec-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn key() -> KeyPair {
    KeyPair::from_seed(&[31; 32])
}

fn open_with(dir: &Path, policy: &str) -> Governor {
    Governor::open(
        dir,
        PolicySet::single(Policy::from_yaml(policy, "ops.yaml").unwrap()),
        key(),
        GovernorOptions {
            durability: Durability::None,
            ..GovernorOptions::default()
        },
    )
    .unwrap()
}

fn sql(db: &str) -> Action {
    Action::new("sql", json!({"db": db, "query": "SELECT 1"})).unwrap()
}

#[test]
fn an_override_is_judged_by_the_policy_that_denied() {
    let dir = tempdir("subst");
    let g = open_with(&dir, POLICY);
    let denied = g.decide(&sql("prod")).unwrap();
    assert_eq!(denied.verdict(), Verdict::Deny);
    drop(g);
    // The overrider brings a policy of the same name and rule id that lets anyone in.
    let forged = POLICY.replace(
        r#"overridable_by: ["role:sre"]"#,
        r#"overridable_by: ["user:*"]"#,
    );
    let g = open_with(&dir, &forged);
    let e = g
        .override_deny(&denied.id, &Approver::new("mallory"), "because")
        .unwrap_err();
    assert!(
        e.to_string().contains("judged by the policy that denied"),
        "{e}"
    );
    drop(g);
    // Under the policy that denied, an authorised overrider still can.
    let g = open_with(&dir, POLICY);
    let o = g
        .override_deny(
            &denied.id,
            &Approver::new("olga").with_role("sre"),
            "incident 9",
        )
        .unwrap();
    assert_eq!(o.decision.decided_by, DecidedBy::Override);
}

#[test]
fn an_override_reason_reaches_no_record_in_clear() {
    let dir = tempdir("reason");
    let g = open_with(&dir, POLICY);
    let denied = g.decide(&sql("prod")).unwrap();
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let o = g
        .override_deny(
            &denied.id,
            &Approver::new("olga").with_role("sre"),
            &format!("incident: the token {token} leaked"),
        )
        .unwrap();
    assert!(!o.decision.reason.contains(token), "{}", o.decision.reason);
    g.close().unwrap();
    for seg in std::fs::read_dir(dir.join("segments")).unwrap() {
        let text = std::fs::read_to_string(seg.unwrap().path()).unwrap();
        assert!(!text.contains(token), "the token is in a record");
    }
}

#[test]
fn an_allowed_action_cannot_be_closed_as_denied() {
    let dir = tempdir("refund");
    let g = open_with(&dir, POLICY);
    let d = g.decide(&sql("dev")).unwrap();
    assert!(d.allowed());
    let e = g.record(&d.id, Outcome::new(Status::Denied)).unwrap_err();
    assert!(e.to_string().contains("cannot be `denied`"), "{e}");
    // It can still be closed truthfully.
    g.record(&d.id, Outcome::success()).unwrap();
}

#[test]
fn integers_beyond_two_to_the_53_are_refused_not_rounded() {
    let set = PolicySet::single(Policy::from_yaml(POLICY, "ops.yaml").unwrap());
    for n in [
        "9007199254740993",
        "-9007199254740993",
        "123456789012345678901234567890",
    ] {
        let text = format!(r#"{{"tool": "pay", "args": {{"account": {n}}}}}"#);
        let a = Action::from_json(&text).unwrap();
        let d = set.decide(&a, &lumenflow_core::Context::new());
        assert_eq!(d.decided_by, DecidedBy::InvalidInput, "{n}: {d:?}");
        assert!(d.reason.contains("2^53"), "{}", d.reason);
    }
    // 2^53 itself, and numbers with a fraction, are fine.
    let a = Action::from_json(
        r#"{"tool": "pay", "args": {"account": 9007199254740992, "amount": 12.5}}"#,
    )
    .unwrap();
    let d = set.decide(&a, &lumenflow_core::Context::new());
    assert_ne!(d.decided_by, DecidedBy::InvalidInput, "{d:?}");
}

#[test]
fn a_huge_expiry_is_refused_at_load_not_a_panic_at_decide() {
    let text = POLICY.replace(
        r#"approvers: ["user:carol"]"#,
        "approvers: [\"user:carol\"]\n    expires_in: 300000y",
    );
    let e = Policy::from_yaml(&text, "ops.yaml").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("100 years") && msg.contains("ops.yaml"),
        "{msg}"
    );
}

fn respelled(name: &str, f: impl Fn(&mut serde_json::Value)) -> i32 {
    let dir = tempdir(name);
    let g = open_with(&dir, POLICY);
    g.decide(&sql("dev")).unwrap();
    g.close().unwrap();
    let seg = dir.join("segments/000000000001.jsonl");
    let text = std::fs::read_to_string(&seg).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if i == 0 {
            f(&mut v);
        }
        // Written back in canonical form, so that only the changed spelling differs.
        out.push(lumenflow_core::canonical::to_string(&v).unwrap());
    }
    let data = out.join("\n") + "\n";
    let mut ring = Keyring::new();
    ring.add(key().public());
    verify_records("log", data.as_bytes(), &ring, None).exit_code()
}

#[test]
fn one_record_has_one_spelling() {
    assert_eq!(respelled("same", |_| {}), exit::VALID);
    let upper = |v: &mut serde_json::Value| {
        let s = v["sig"].as_str().unwrap().to_ascii_uppercase();
        v["sig"] = json!(s);
    };
    assert_eq!(respelled("upper-sig", upper), exit::TAMPERED);
    let plus = |v: &mut serde_json::Value| {
        let s = v["sig"].as_str().unwrap();
        v["sig"] = json!(format!("+{}", &s[1..]));
    };
    assert_eq!(respelled("plus-sig", plus), exit::TAMPERED);
    let key_upper = |v: &mut serde_json::Value| {
        let s = v["key"].as_str().unwrap().replace("ed25519:", "ED25519:");
        v["key"] = json!(s);
    };
    assert_eq!(respelled("upper-key", key_upper), exit::TAMPERED);
    for (name, ts) in [("offset", "+00:00"), ("lower-z", "z")] {
        let f = move |v: &mut serde_json::Value| {
            let s = v["ts"].as_str().unwrap().replace('Z', ts);
            v["ts"] = json!(s);
        };
        assert_eq!(respelled(name, f), exit::TAMPERED, "{name}");
    }
}

#[test]
fn text_from_records_cannot_drive_a_terminal_or_a_spreadsheet() {
    let hidden = "ok\x1b[2K\x1b[1A\rrm -rf / was approved";
    let shown = terminal_text(hidden);
    assert!(!shown.contains('\x1b') && !shown.contains('\r'), "{shown}");
    assert!(shown.contains("\\u{1b}"), "{shown}");
    assert_eq!(terminal_text("plain text"), "plain text");
    for formula in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
        assert!(csv_cell(formula).starts_with('\''), "{formula}");
    }
    assert_eq!(csv_cell("allow"), "allow");
}

#[test]
fn errors_are_typed() {
    // Keep the Error import meaningful: an unknown decision is an evidence error.
    let dir = tempdir("typed");
    let g = open_with(&dir, POLICY);
    let e = g
        .override_deny("nope:1", &Approver::new("x"), "r")
        .unwrap_err();
    assert!(matches!(e, Error::Approval(_)), "{e:?}");
}

#[test]
fn a_configured_field_does_not_come_back_through_a_rule_error() {
    let policy = r#"
version: 1
name: leak
default: deny
rules:
  - id: echo
    effect: deny
    when: action.tool == "login" && action.args[action.args.password] == 1
"#;
    let dir = tempdir("field");
    let g = Governor::open(
        &dir,
        PolicySet::single(Policy::from_yaml(policy, "leak.yaml").unwrap()),
        key(),
        GovernorOptions {
            durability: Durability::None,
            redactor: lumenflow_core::Redactor {
                pointers: vec!["/args/password".into()],
                ..Default::default()
            },
            ..GovernorOptions::default()
        },
    )
    .unwrap();
    let secret = "correct-horse-battery";
    let d = g
        .decide(&Action::new("login", json!({"user": "ann", "password": secret})).unwrap())
        .unwrap();
    // The rule's error echoes the argument (the attack needs it to)...
    let in_memory = serde_json::to_string(&d.decision).unwrap();
    assert!(in_memory.contains(secret), "{in_memory}");
    g.close().unwrap();
    // ...but no record holds it.
    for seg in std::fs::read_dir(dir.join("segments")).unwrap() {
        let text = std::fs::read_to_string(seg.unwrap().path()).unwrap();
        assert!(
            !text.contains(secret),
            "the configured field is in a record: {text}"
        );
    }
}

#[test]
fn a_long_reason_is_redacted_before_it_is_cut() {
    let dir = tempdir("cut-token");
    let g = open_with(&dir, POLICY);
    let denied = g.decide(&sql("prod")).unwrap();
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    // Padding that puts the token across the message limit.
    let pad = "x".repeat(4096 - 20);
    g.override_deny(
        &denied.id,
        &Approver::new("olga").with_role("sre"),
        &format!("{pad} {token}"),
    )
    .unwrap();
    g.close().unwrap();
    for seg in std::fs::read_dir(dir.join("segments")).unwrap() {
        let text = std::fs::read_to_string(seg.unwrap().path()).unwrap();
        assert!(
            !text.contains("ghp_abcdefghijklmnop"),
            "part of the token is in a record"
        );
    }
}
