//! A governed agent session: a scripted coding agent proposes tool calls in a scratch
//! worktree; LumenFlow decides each one under the example policy and records the
//! decision before anything runs; allowed calls really run (shell commands through
//! `sh -c`, file writes), denied ones never do, and every outcome is recorded. A lead
//! approves one request (the agent's retry is then allowed) and overrides one deny with a
//! reason (break-glass); costs are charged to the session's budget.
//!
//! Usage: cargo run -p lumenflow-core --example agent_session -- EVIDENCE_DIR KEY_FILE WORKTREE

use lumenflow_core::approval::Approver;
use lumenflow_core::governor::{Governed, Governor, GovernorOptions, Outcome};
use lumenflow_core::keys::KeyPair;
use lumenflow_core::{Action, Actor, Context, Effect, Policy, PolicySet};
use serde_json::json;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, evidence, key, worktree] = args.as_slice() else {
        eprintln!("usage: agent_session EVIDENCE_DIR KEY_FILE WORKTREE");
        std::process::exit(64);
    };
    let policy = Policy::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/policies/software-delivery.yaml"
    ))?;
    let options = GovernorOptions {
        context: Context::new()
            .with("worktree", worktree.as_str())
            .with("allowed_hosts", json!(["*.github.com", "github.com"])),
        ..GovernorOptions::default()
    };
    let gov = Governor::open(
        evidence,
        PolicySet::single(policy),
        KeyPair::from_file(key)?,
        options,
    )?;
    let agent = Actor::agent("agent-7");

    // What the agent wants to do, in order.
    let proposals = vec![
        json!({"tool": "bash", "args": {"command": "git init -q . && git status --short | wc -l"}}),
        json!({"tool": "write", "args": {"path": "src/lib.rs", "content": "pub fn answer() -> u32 { 42 }\n"}}),
        json!({"tool": "bash", "args": {"command": "ls -R src && cat src/lib.rs"}}),
        json!({"tool": "bash", "args": {"command": "env GIT_TRACE=0 git -C . reset --hard"}}),
        json!({"tool": "bash", "args": {"command": "bash -c 'git push --force origin main'"}}),
        json!({"tool": "write", "args": {"path": "src/../../outside.txt", "content": "escape"}}),
        json!({"tool": "bash", "args": {"command": "echo 'export TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789' >> .env"}}),
        json!({"tool": "http", "args": {"url": "https://example.com/upload", "method": "POST"}}),
        json!({"tool": "http", "args": {"url": "https://docs.rs/serde", "method": "GET"}, "cost": 0.01}),
        json!({"tool": "bash", "args": {"command": "echo done > build.log && wc -c build.log"}, "cost": 0.25}),
        json!({"tool": "write", "args": {"path": ".github/workflows/ci.yml", "content": "on: push\n"}}),
    ];
    let lead = Approver::new("alice").with_role("lead");

    println!("{:<62} LumenFlow decides", "agent proposes");
    let mut pending = Vec::new();
    for p in proposals {
        let action = Action::from_value(p)?
            .with_actor(agent.clone())
            .with_session("session-1");
        let g = step(&gov, &action, None, worktree)?;
        if let Some(req) = g.request() {
            pending.push((req.to_owned(), action));
        }
    }

    // A lead reviews the open requests: approves the CI change, rejects the upload.
    println!();
    for (req, action) in pending {
        if action.tool == "write" {
            let r = gov.approve(&req, &lead, "reviewed the workflow change")?;
            println!("alice approves request {req}: {}", r.state.as_str());
            // The agent retries the exact action: the one-shot grant allows it.
            step(&gov, &action, None, worktree)?;
        } else {
            let r = gov.reject(&req, &lead, "no uploads to unknown hosts")?;
            println!("alice rejects request {req}: {}", r.state.as_str());
        }
    }

    // Another session owns the worktree: denied, then overridden by a lead (break-glass).
    println!();
    let foreign = Context::new()
        .with("worktree", worktree.as_str())
        .with("owner_session", "session-0");
    let action = Action::from_value(
        json!({"tool": "bash", "args": {"command": "echo takeover >> build.log"}}),
    )?
    .with_actor(agent.clone())
    .with_session("session-1");
    let denied = step(&gov, &action, Some(&foreign), worktree)?;
    let o = gov.override_deny(
        &denied.id,
        &lead,
        "session-0 crashed; taking over its worktree",
    )?;
    println!("OVERRIDE {}: {}", o.id, o.decision.reason);
    let out = run(&action, worktree);
    gov.record(
        &o.id,
        match out {
            Ok(b) => Outcome::success().with_output(&b),
            Err(e) => Outcome::failure(e),
        },
    )?;
    for b in gov.budgets()? {
        println!(
            "budget {} for {}: {} of {} {} spent",
            b.budget, b.account, b.spent, b.limit, b.unit
        );
    }
    gov.close()?;
    println!("\nevidence written to {evidence}");
    Ok(())
}

/// Decides one action (recorded before anything runs), prints the answer, and runs it if
/// allowed, recording the outcome.
fn step(
    gov: &Governor,
    action: &Action,
    context: Option<&Context>,
    worktree: &str,
) -> Result<Governed, Box<dyn std::error::Error>> {
    let g = match context {
        Some(c) => gov.decide_in(action, c)?,
        None => gov.decide(action)?,
    };
    let label = match action.tool.as_str() {
        "bash" => format!(
            "bash: {}",
            action.args["command"].as_str().unwrap_or_default()
        ),
        "write" => format!(
            "write: {}",
            action.args["path"].as_str().unwrap_or_default()
        ),
        other => format!(
            "{other}: {}",
            action
                .args
                .get("url")
                .and_then(|u| u.as_str())
                .unwrap_or_default()
        ),
    };
    println!(
        "{:<62} {} ({})",
        truncate(&label, 62),
        g.decision.effect,
        g.decision.reason
    );
    // A deny is closed at once, as is a request for approval (its retry is a new decision).
    if g.decision.effect == Effect::Allow {
        let start = Instant::now();
        let outcome = match run(action, worktree) {
            Ok(out) => Outcome::success().with_output(&out),
            Err(e) => Outcome::failure(e),
        }
        .with_duration(start.elapsed());
        gov.record(&g.id, outcome)?;
    }
    Ok(g)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Runs an allowed action in the worktree and returns its output.
fn run(action: &Action, worktree: &str) -> Result<Vec<u8>, String> {
    match action.tool.as_str() {
        "bash" => {
            let cmd = action.args["command"].as_str().ok_or("no command")?;
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(worktree)
                .output()
                .map_err(|e| e.to_string())?;
            if out.status.success() {
                Ok(out.stdout)
            } else {
                Err(format!("exit status {}", out.status))
            }
        }
        "write" => {
            let path =
                std::path::Path::new(worktree).join(action.args["path"].as_str().ok_or("no path")?);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            let content = action.args["content"].as_str().unwrap_or_default();
            std::fs::write(&path, content).map_err(|e| e.to_string())?;
            Ok(content.as_bytes().to_vec())
        }
        other => Err(format!("this demo agent cannot run {other}")),
    }
}
