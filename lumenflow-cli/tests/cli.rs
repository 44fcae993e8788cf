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
        // A command that fails before reading its input (a usage error) may close its
        // end first: that is not the test's failure, its exit status and output are.
        match child.stdin.take().unwrap().write_all(input.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.unwrap(),
        }
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

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lumenflow-cli-ev-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn governed_session_from_the_shell() {
    let d = tmpdir("session");
    let key = d.join("agent.key");
    let ev = d.join("evidence");
    let out = lumenflow(&["keygen", "--out", key.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stdout).contains("PRIVATE"),
        "keygen never prints the private key"
    );
    // Decide and record.
    let action = r#"{"tool": "bash", "args": {"command": "cargo test"}, "session": "s-1"}"#;
    let out = lumenflow(
        &[
            "decide",
            "-p",
            EXAMPLE,
            "--action",
            "-",
            "--evidence",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--json",
        ],
        Some(action),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["evidence"]["id"].as_str().unwrap().to_owned();
    let out = lumenflow(
        &[
            "record",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--decision",
            &id,
            "--status",
            "success",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = lumenflow(
        &[
            "record",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--decision",
            &id,
            "--status",
            "failure",
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(1), "a decision is closed once");
    // The Claude Code hook: deny, allow, and closing the allowed call. The worktree is
    // the project directory (CLAUDE_PROJECT_DIR, or the context's), never the cwd.
    let hook_ctx = tmp("hook-context.json", r#"{"worktree": "/work/repo"}"#);
    let pre = |cmd: &str, id: &str| {
        format!(
            r#"{{"session_id":"s-2","cwd":"/work/repo","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{{"command":{}}},"tool_use_id":"{id}"}}"#,
            serde_json::to_string(cmd).unwrap()
        )
    };
    let out = lumenflow(
        &[
            "decide",
            "-p",
            EXAMPLE,
            "--hook",
            "claude-code",
            "--context",
            hook_ctx.to_str().unwrap(),
            "--evidence",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        Some(&pre("git push --force", "t1")),
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    let out = lumenflow(
        &[
            "decide",
            "-p",
            EXAMPLE,
            "--hook",
            "claude-code",
            "--context",
            hook_ctx.to_str().unwrap(),
            "--evidence",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        Some(&pre("curl https://example.com", "t2")),
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "ask");
    let out = lumenflow(
        &[
            "decide",
            "-p",
            EXAMPLE,
            "--hook",
            "claude-code",
            "--context",
            hook_ctx.to_str().unwrap(),
            "--evidence",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        Some(&pre("ls", "t3")),
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "allow");
    let post = r#"{"session_id":"s-2","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"t3","tool_response":{"stdout":"a","stderr":"","interrupted":false}}"#;
    let out = lumenflow(
        &[
            "record",
            ev.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--hook",
            "claude-code",
        ],
        Some(post),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A hook that cannot decide blocks the call.
    let out = lumenflow(
        &["decide", "-p", EXAMPLE, "--hook", "claude-code"],
        Some("not json"),
    );
    assert_eq!(out.status.code(), Some(0));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    // log, verify, export.
    let out = lumenflow(
        &["log", ev.to_str().unwrap(), "--kind", "outcome", "--json"],
        None,
    );
    let outcomes: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<&str> = outcomes
        .iter()
        .map(|o| o["body"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["success", "denied", "success"]);
    let out = lumenflow(&["log", ev.to_str().unwrap(), "--session", "s-2"], None);
    assert_eq!(
        text(&out.stdout).lines().count(),
        5,
        "{}",
        text(&out.stdout)
    );
    let pubkey = format!("{}.pub", key.display());
    let out = lumenflow(
        &["verify", ev.to_str().unwrap(), "--key", &pubkey, "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["integrity"]["verdict"], "valid");
    assert_eq!(r["completeness"]["verdict"], "complete");
    let bundle = d.join("audit.lfb");
    let out = lumenflow(
        &[
            "export",
            ev.to_str().unwrap(),
            "--out",
            bundle.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        lumenflow(
            &["verify", bundle.to_str().unwrap(), "--key", &pubkey],
            None
        )
        .status
        .code(),
        Some(0)
    );
    let unpinned = lumenflow(&["verify", bundle.to_str().unwrap()], None);
    assert_eq!(unpinned.status.code(), Some(4), "keys not pinned");
    assert!(text(&unpinned.stdout).contains("NOT PINNED"));
}

#[test]
fn verify_exit_codes() {
    let d = tmpdir("codes");
    let key = d.join("k");
    let other = d.join("other");
    let ev = d.join("ev");
    lumenflow(&["keygen", "--out", key.to_str().unwrap()], None);
    lumenflow(&["keygen", "--out", other.to_str().unwrap()], None);
    for i in 0..5 {
        let a = format!(r#"{{"tool": "bash", "args": {{"command": "echo {i}"}}}}"#);
        let out = lumenflow(
            &[
                "decide",
                "-p",
                EXAMPLE,
                "--action",
                "-",
                "--evidence",
                ev.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
            ],
            Some(&a),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let cp = d.join("kept-checkpoint.json");
    assert_eq!(
        lumenflow(
            &[
                "checkpoint",
                ev.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "--out",
                cp.to_str().unwrap()
            ],
            None
        )
        .status
        .code(),
        Some(0)
    );
    let pk = format!("{}.pub", key.display());
    let ok = lumenflow(
        &[
            "verify",
            ev.to_str().unwrap(),
            "--key",
            &pk,
            "--checkpoint",
            cp.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    // Unknown key (3).
    let opk = format!("{}.pub", other.display());
    assert_eq!(
        lumenflow(&["verify", ev.to_str().unwrap(), "--key", &opk], None)
            .status
            .code(),
        Some(3)
    );
    // Truncated tail against the kept checkpoint (2).
    let seg = ev.join("segments/000000000001.jsonl");
    let full = std::fs::read_to_string(&seg).unwrap();
    let cut: String = full.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&seg, &cut).unwrap();
    std::fs::remove_file(ev.join("checkpoint.json")).unwrap();
    let out = lumenflow(
        &[
            "verify",
            ev.to_str().unwrap(),
            "--key",
            &pk,
            "--checkpoint",
            cp.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("records missing from the end"));
    // Tampered (1).
    std::fs::write(&seg, cut.replacen("echo 1", "echo 9", 1)).unwrap();
    let out = lumenflow(&["verify", ev.to_str().unwrap(), "--key", &pk], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("TAMPERED at seq"));
    // Usage (64) and unreadable input (66).
    assert_eq!(lumenflow(&["verify"], None).status.code(), Some(64));
    assert_eq!(
        lumenflow(&["verify", "/nonexistent/evidence"], None)
            .status
            .code(),
        Some(66)
    );
}

const OPS: &str = r#"
version: 1
name: ops
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
  - id: no-prod
    effect: deny
    when: action.tool == "sql" && action.args.db == "prod"
    overridable_by: ["role:sre"]
budgets:
  - id: spend
    per: session
    limit: 1.0
    unit: usd
    charge: action.cost
"#;

/// One process decides and waits; another approves from the shell; the first proceeds.
#[test]
fn approvals_across_processes_overrides_and_replay() {
    use lumenflow_core::governor::{Governor, GovernorOptions, Outcome, Verdict};
    use lumenflow_core::keys::KeyPair;
    use lumenflow_core::{Action, Policy, PolicySet};
    let d = tmpdir("approvals");
    let ev = d.join("evidence");
    let key = d.join("agent.key");
    let policy = d.join("ops.yaml");
    std::fs::write(&policy, OPS).unwrap();
    assert!(lumenflow(&["keygen", "--out", key.to_str().unwrap()], None)
        .status
        .success());
    // The people: their own keys, bound to identities and roles in the approver registry.
    let (alice, olga, mallory) = (
        d.join("alice.key"),
        d.join("olga.key"),
        d.join("mallory.key"),
    );
    for k in [&alice, &olga, &mallory] {
        assert!(lumenflow(&["keygen", "--out", k.to_str().unwrap()], None)
            .status
            .success());
    }
    let id = |k: &std::path::Path| KeyPair::from_file(k).unwrap().id().to_owned();
    let reg = d.join("approvers.yaml");
    std::fs::write(
        &reg,
        format!(
            "version: 1\napprovers:\n  - {{id: alice, roles: [lead], keys: [\"{}\"]}}\n  - {{id: olga, roles: [sre], keys: [\"{}\"]}}\n  - {{id: mallory, keys: [\"{}\"]}}\n",
            id(&alice),
            id(&olga),
            id(&mallory)
        ),
    )
    .unwrap();
    let registry = std::sync::Arc::new(lumenflow_core::Registry::load(&reg).unwrap());
    let set = PolicySet::single(Policy::from_file(&policy).unwrap());
    let g = Governor::open(
        &ev,
        set,
        KeyPair::from_file(&key).unwrap(),
        GovernorOptions {
            registry: Some(registry),
            ..GovernorOptions::default()
        },
    )
    .unwrap();
    let deploy = Action::from_value(serde_json::json!({
        "tool": "deploy", "args": {"v": "2"}, "actor": "agent", "session": "s", "cost": 0.25
    }))
    .unwrap();
    let first = g.decide(&deploy).unwrap();
    assert_eq!(first.verdict(), Verdict::ApprovalRequired);
    let req = first.id.clone();
    let (evs, keys, pol) = (
        ev.to_str().unwrap(),
        key.to_str().unwrap(),
        policy.to_str().unwrap(),
    );

    let out = lumenflow(&["approvals", "list", evs, "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(listed["id"], req.as_str());
    assert_eq!(listed["state"], "pending");

    let (regs, alices, olgas, mallorys) = (
        reg.to_str().unwrap(),
        alice.to_str().unwrap(),
        olga.to_str().unwrap(),
        mallory.to_str().unwrap(),
    );
    // Claims are not identities: a name and a role, with only the governor's key (which
    // the agent may hold), are refused, with or without a registry.
    for args in [
        vec![
            "approve", evs, &req, "--as", "alice", "--role", "lead", "--key", keys,
        ],
        vec![
            "approve",
            evs,
            &req,
            "--as",
            "alice",
            "--key",
            keys,
            "--registry",
            regs,
        ],
        // The governor's own key as an approver key: not registered.
        vec![
            "approve",
            evs,
            &req,
            "--key",
            keys,
            "--sign-key",
            keys,
            "--registry",
            regs,
        ],
        // A real approver key but no registry: nobody is registered.
        vec!["approve", evs, &req, "--key", keys, "--sign-key", alices],
        // Alice's key signing under another name.
        vec![
            "approve",
            evs,
            &req,
            "--as",
            "olga",
            "--key",
            keys,
            "--sign-key",
            alices,
            "--registry",
            regs,
        ],
    ] {
        let out = lumenflow(&args, None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
    // A registered person the rule does not name (mallory is no lead): refused.
    let out = lumenflow(
        &[
            "approve",
            evs,
            &req,
            "--reason",
            "x",
            "--key",
            keys,
            "--sign-key",
            mallorys,
            "--registry",
            regs,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("may not vote"),
        "{}",
        text(&out.stderr)
    );
    // Nothing above counted.
    assert_eq!(
        g.approval(&req).unwrap().state,
        lumenflow_core::RequestState::Pending
    );
    let out = lumenflow(
        &[
            "approve",
            evs,
            &req,
            "--reason",
            "ship it",
            "--key",
            keys,
            "--sign-key",
            alices,
            "--registry",
            regs,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("approved"),
        "{}",
        text(&out.stdout)
    );

    // The first process sees the other's vote and proceeds.
    let again = g.decide(&deploy).unwrap();
    assert_eq!(again.verdict(), Verdict::Allow, "{}", again.decision.reason);
    g.record(&again.id, Outcome::success().with_cost(0.5))
        .unwrap();
    let out = lumenflow(
        &["approvals", "list", evs, "--all", "--registry", regs],
        None,
    );
    assert!(text(&out.stdout).contains("used"), "{}", text(&out.stdout));
    let out = lumenflow(&["budgets", evs, "--policy", pol], None);
    assert!(
        text(&out.stdout).contains("0.5 of 1 usd spent"),
        "{}",
        text(&out.stdout)
    );

    // Break-glass from the shell: refused without the role, recorded with it.
    let sql = Action::from_value(
        serde_json::json!({"tool": "sql", "args": {"db": "prod"}, "actor": "agent", "session": "s"}),
    )
    .unwrap();
    let denied = g.decide(&sql).unwrap();
    assert_eq!(denied.verdict(), Verdict::Deny);
    let out = lumenflow(
        &[
            "override", evs, &denied.id, "--as", "olga", "--role", "sre", "--reason", "incident",
            "--key", keys, "--policy", pol,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    // Registered, but not an sre.
    let out = lumenflow(
        &[
            "override",
            evs,
            &denied.id,
            "--reason",
            "incident",
            "--key",
            keys,
            "--sign-key",
            mallorys,
            "--registry",
            regs,
            "--policy",
            pol,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let out = lumenflow(
        &[
            "override",
            evs,
            &denied.id,
            "--reason",
            "incident 7",
            "--key",
            keys,
            "--sign-key",
            olgas,
            "--registry",
            regs,
            "--policy",
            pol,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = lumenflow(&["log", evs], None);
    assert!(
        text(&out.stdout).contains("OVERRIDE"),
        "{}",
        text(&out.stdout)
    );
    g.close().unwrap();

    // Replay: the same policy decides everything the same; a new one shows the change.
    let out = lumenflow(&["replay", evs, "--policy", pol], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("0 changed"),
        "{}",
        text(&out.stdout)
    );
    let looser = d.join("looser.yaml");
    std::fs::write(
        &looser,
        OPS.replace("effect: require_approval", "effect: allow")
            .replace("    approvers: [\"role:lead\"]\n", ""),
    )
    .unwrap();
    let out = lumenflow(
        &[
            "replay",
            evs,
            "--policy",
            looser.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The request would not be needed, and the approved retry would be allowed by rule.
    assert_eq!(r["changed"], 2, "{r}");
    assert_eq!(r["entries"][0]["replayed"]["effect"], "allow");
    assert_eq!(r["entries"][1]["recorded"]["decided_by"], "approval");
    assert_eq!(r["entries"][2]["changed"], false);
    assert_eq!(r["same_policies"], false);
    let pk = format!("{keys}.pub");
    let verify = lumenflow(&["verify", evs, "--key", &pk], None);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}
