//! A governed agent session: a scripted coding agent proposes tool calls in a scratch
//! worktree; LumenFlow decides each one under the example policy and records the
//! decision before anything runs; allowed calls really run (shell commands through
//! `sh -c`, file writes), denied ones never do, and every outcome is recorded.
//!
//! Usage: cargo run -p lumenflow-core --example agent_session -- EVIDENCE_DIR KEY_FILE WORKTREE

use lumenflow_core::governor::{Governor, GovernorOptions, Outcome};
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
        json!({"tool": "bash", "args": {"command": "echo done > build.log && wc -c build.log"}}),
    ];

    println!("{:<62} LumenFlow decides", "agent proposes");
    for p in proposals {
        let action = Action::from_value(p)?
            .with_actor(agent.clone())
            .with_session("session-1");
        let g = gov.decide(&action)?; // recorded before anything runs
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
        match g.decision.effect {
            Effect::Allow => {
                let start = Instant::now();
                let outcome = run(&action, worktree);
                let outcome = match outcome {
                    Ok(out) => Outcome::success().with_output(&out),
                    Err(e) => Outcome::failure(e),
                }
                .with_duration(start.elapsed());
                gov.record(&g.id, outcome)?;
            }
            // A deny is closed at once; an approval request stays open until someone
            // approves (here nobody does, so closing the session marks it unknown).
            Effect::Deny | Effect::RequireApproval => {}
        }
    }
    gov.close()?;
    println!("\nevidence written to {evidence}");
    Ok(())
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
