//! The `lumenflow` binary end to end: exit codes, output, JSON.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/policies/software-delivery.yaml"
);
const EXAMPLE_TESTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/policies/software-delivery.tests.yaml"
);

fn lumenflow(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumenflow"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lumenflow-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn check_valid_and_invalid() {
    let ok = lumenflow(&["check", "--policy", EXAMPLE], None);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("software-delivery"));
    let bad = tmp("bad.yaml", "version: 1\nname: b\nrules:\n  - id: a\n    effect: deny\n    when: action.tol == 1\n  - id: a\n    effect: allow\n    when: 'true'\n");
    let out = lumenflow(
        &[
            "check",
            "--policy",
            bad.to_str().unwrap(),
            "--policy",
            EXAMPLE,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml:6:") && err.contains("rule `a`") && err.contains("no field `tol`"),
        "{err}"
    );
    assert!(
        err.contains("bad.yaml:7:") && err.contains("duplicate rule id"),
        "{err}"
    );
    let json = lumenflow(
        &["check", "--json", "--policy", bad.to_str().unwrap()],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["valid"], false);
    assert_eq!(v[0]["problems"].as_array().unwrap().len(), 2);
    assert_eq!(v[0]["problems"][0]["line"], 6);
}

#[test]
fn decide_prints_effect_and_json() {
    let action =
        r#"{"tool": "bash", "args": {"command": "git -C x reset --hard"}, "actor": "agent-7"}"#;
    let ctx = tmp("ctx.json", r#"{"worktree": "/work/repo"}"#);
    let out = lumenflow(
        &[
            "decide",
            "--policy",
            EXAMPLE,
            "--action",
            "-",
            "--context",
            ctx.to_str().unwrap(),
            "--json",
        ],
        Some(action),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["effect"], "deny");
    assert_eq!(d["decided_by"], "rule");
    assert_eq!(d["deciding_rules"][0]["rule"], "block-destructive-git");
    assert!(d["policies"][0]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let allow = lumenflow(
        &[
            "decide",
            "-p",
            EXAMPLE,
            "--action",
            "-",
            "--context",
            ctx.to_str().unwrap(),
        ],
        Some(r#"{"tool": "read", "args": {"path": "README.md"}}"#),
    );
    assert_eq!(allow.status.code(), Some(0));
    assert!(
        text(&allow.stdout).starts_with("allow: allowed by rule `reads-inside-worktree`"),
        "{}",
        text(&allow.stdout)
    );
}

#[test]
fn decide_rejects_bad_input() {
    let out = lumenflow(
        &["decide", "--policy", EXAMPLE, "--action", "-"],
        Some(r#"{"tool": "bash", "argz": {}}"#),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("argz"), "{}", text(&out.stderr));
    let out = lumenflow(
        &["decide", "--policy", "/nonexistent.yaml", "--action", "-"],
        Some("{}"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent.yaml"));
    let out = lumenflow(&["decide", "--action", "-"], Some("{}"));
    assert_eq!(out.status.code(), Some(64), "usage errors exit 64");
}

#[test]
fn test_command_passes_and_fails() {
    let out = lumenflow(&["test", "--policy", EXAMPLE, EXAMPLE_TESTS], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("every rule was exercised"));
    let failing = tmp("t.yaml", "cases:\n  - name: wrong on purpose\n    action: {tool: bash, args: {command: 'git push -f'}}\n    expect: allow\n");
    let out = lumenflow(
        &["test", "--policy", EXAMPLE, failing.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(
        s.contains("FAIL  wrong on purpose") && s.contains("expected allow, got deny"),
        "{s}"
    );
    assert!(s.contains("rules no case exercised:"), "{s}");
    assert!(s.contains("0 passed, 1 failed"), "{s}");
}

#[test]
fn help_is_helpful() {
    for cmd in ["check", "decide", "test"] {
        let out = lumenflow(&[cmd, "--help"], None);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("--policy"), "{cmd}");
    }
}
