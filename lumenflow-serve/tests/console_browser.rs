//! The console in a real browser: headless Chromium (Debian's) driven by Playwright
//! (`playwright-core` from npm, no browser download) against a real daemon, with real
//! agents connected to its Unix socket and blocked in `wait_for_approval`. An approver
//! logs in, sees the pending request, approves it with a reason, and the waiting agent
//! proceeds; a second request shows up live, carries markup that must not run, and is
//! rejected, and its agent is told so. Also measures the console's first paint.
//!
//! Needs `chromium` (LUMENFLOW_CHROMIUM, default /usr/bin/chromium), `node`, and
//! playwright-core (LUMENFLOW_NODE_MODULES, default $HOME/.cache/lumenflow/console-node/
//! node_modules), all installed by scripts/test-console.sh, which runs this test
//! (`--ignored`: the workspace's `cargo test` runs before those installs). Without them
//! it fails, saying what is missing.

mod common;

use common::{Fixture, ALICE};
use lumenflow_core::remote::Client;
use lumenflow_core::{Action, RequestState};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from(
        std::env::var("LUMENFLOW_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    let modules = std::env::var("LUMENFLOW_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/lumenflow/console-node/node_modules")
        });
    if !chromium.exists() {
        return Err(format!("no Chromium at {}", chromium.display()));
    }
    if !modules.join("playwright-core").exists() {
        return Err(format!("no playwright-core in {}", modules.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("no node on PATH".into());
    }
    Ok((chromium, modules))
}

/// An agent on the socket: decides `command`, sends the request id, waits for a person.
fn agent(
    socket: PathBuf,
    command: &'static str,
    ids: mpsc::Sender<String>,
) -> std::thread::JoinHandle<RequestState> {
    std::thread::spawn(move || {
        let mut c = Client::connect(&socket, Duration::from_secs(10)).expect("agent connects");
        let action = Action::new("bash", json!({ "command": command }))
            .unwrap()
            .with_session("browser");
        let d = c.decide(&action).expect("decide");
        let id = d.request_id.clone().expect("the command needs approval");
        ids.send(id.clone()).unwrap();
        let r = c
            .wait_for_approval(&id, Duration::from_secs(90))
            .expect("wait_for_approval");
        r.request.state
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and playwright-core: run by scripts/test-console.sh"]
async fn an_approver_approves_and_rejects_in_a_real_browser_and_the_waiting_agents_proceed() {
    let (chromium, modules) =
        tools().unwrap_or_else(|why| panic!("{why}: scripts/test-console.sh installs it"));
    let f = Fixture::start("", "").await;
    let socket = f.dir.path().join("agent.sock");
    let listener = lumenflow_serve::socket::bind(f.daemon.config()).expect("socket binds");
    let d = f.daemon.clone();
    tokio::spawn(async move { lumenflow_serve::socket::serve(d, listener).await });

    let (tx, rx) = mpsc::channel();
    let first = agent(socket.clone(), "git push origin main", tx.clone());
    let first_id = rx.recv_timeout(Duration::from_secs(20)).unwrap();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.mjs");
    let mut node = Command::new("node")
        .arg(&script)
        .env("NODE_PATH", &modules)
        .env(
            "LF_CONSOLE",
            json!({"url": f.base, "chromium": chromium, "id": "alice", "secret": ALICE, "first": first_id, "paint_runs": 5, "node_modules": modules}).to_string(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node starts");
    let mut stdin = node.stdin.take().unwrap();
    let stdout = BufReader::new(node.stdout.take().unwrap());
    let (ltx, lrx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            eprintln!("browser: {line}");
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if ltx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let step = |name: &str| -> Value {
        loop {
            let v = lrx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("the browser never reached {name}"));
            assert_ne!(v["step"], "error", "browser: {v}");
            if v["step"] == name {
                return v;
            }
        }
    };

    let paint = step("paint");
    let fcps: Vec<f64> = paint["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["first_contentful_paint_ms"]
                .as_f64()
                .expect("a first contentful paint")
        })
        .collect();
    eprintln!(
        "console first contentful paint (ms, cold, {} runs): {fcps:?}",
        fcps.len()
    );
    assert!(
        fcps.iter().all(|&t| t < 1000.0),
        "first paint over 1 s: {fcps:?}"
    );

    step("wrong_secret_refused");
    step("logged_in");
    let seen = step("seen");
    assert_eq!(seen["summary"], "git push origin main");
    assert_eq!(seen["rules"], "console-test/push-needs-lead");
    assert_eq!(seen["quorum"], "0 of 1 approvals");
    assert!(
        seen["asker"].as_str().unwrap().contains("session browser"),
        "{seen}"
    );
    assert!(
        seen["commands"]
            .as_str()
            .unwrap()
            .contains("push origin main"),
        "{seen}"
    );
    step("approved");
    let state = tokio::task::spawn_blocking(move || first.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        state,
        RequestState::Approved,
        "the waiting agent proceeds once approved"
    );

    step("ready");
    let second = agent(
        socket.clone(),
        "echo '<img src=x onerror=window.__pwned=1>' && git push --force origin main",
        tx,
    );
    let second_id = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    writeln!(stdin, "{second_id}").unwrap();
    let live = step("seen_live");
    assert!(
        live["summary"]
            .as_str()
            .unwrap()
            .contains("<img src=x onerror=window.__pwned=1>"),
        "{live}"
    );
    assert_eq!(live["injected"], json!({"pwned": false, "images": 0}));
    step("rejected");
    let state = tokio::task::spawn_blocking(move || second.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        state,
        RequestState::Rejected,
        "the waiting agent is told of the rejection"
    );

    let t = step("timeline");
    let votes = t["votes"].as_array().unwrap();
    assert!(
        votes
            .iter()
            .any(|v| v.as_str().unwrap().contains("approve by alice")),
        "{t}"
    );
    assert!(
        votes.iter().any(|v| v
            .as_str()
            .unwrap()
            .contains("reject by alice: no force pushes to main")),
        "{t}"
    );
    assert!(t["verdict"].as_str().unwrap().starts_with("valid"), "{t}");
    assert_eq!(t["problems"], json!([]), "no script errors in the page");
    let status = tokio::task::spawn_blocking(move || node.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());

    // The votes are in the log as attested by the daemon for alice.
    let recs = f.records();
    let votes: Vec<_> = recs.iter().filter(|r| r.kind == "approval").collect();
    assert_eq!(votes.len(), 2);
    for v in votes {
        assert_eq!(v.body["approver"]["id"], "alice");
        assert_eq!(v.body["attestation"]["method"], "password");
    }
}
