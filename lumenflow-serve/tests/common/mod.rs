//! A real daemon for the console tests: a scratch directory with the daemon's key, an
//! approver registry (alice and bob, leads; carol, not a lead) declaring the daemon's
//! key an attester for `password`, a policy, and the HTTP API bound to a free loopback
//! port. Nothing is mocked: votes go through the daemon's governor into the evidence log.
#![allow(dead_code)]

use lumenflow_core::{Action, KeyPair};
use lumenflow_serve::config::Config;
use lumenflow_serve::daemon::{Daemon, Peer};
use lumenflow_serve::http::{self, auth};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub const ALICE: &str = "alice-secret-horse-battery";
pub const BOB: &str = "bob-secret-staple-correct";
pub const CAROL: &str = "carol-secret-not-a-lead";

pub const POLICY: &str = r#"
version: 1
name: console-test
default: deny
rules:
  - id: push-needs-lead
    effect: require_approval
    when: action.tool == "bash" && shell.invokes(action.args.command, "git push")
    reason: pushing needs a lead
    approvers: ["role:lead"]
  - id: deploy-needs-two
    effect: require_approval
    when: action.tool == "bash" && shell.invokes(action.args.command, "deploy")
    reason: deploys need two leads
    approvers: ["role:lead"]
    quorum: 2
  - id: curl-needs-anyone
    effect: require_approval
    when: action.tool == "bash" && shell.invokes(action.args.command, "curl")
    reason: network calls need a person
  - id: edits-need-lead
    effect: require_approval
    when: action.tool == "edit"
    reason: edits need a lead
    approvers: ["role:lead"]
  - id: quick
    effect: require_approval
    when: action.tool == "bash" && shell.invokes(action.args.command, "quick")
    reason: quick requests expire
    expires_in: 1s
  - id: rest
    effect: allow
    when: action.tool == "bash"
"#;

fn hashes() -> &'static (String, String, String) {
    static H: OnceLock<(String, String, String)> = OnceLock::new();
    H.get_or_init(|| {
        (
            auth::hash_secret(ALICE).unwrap(),
            auth::hash_secret(BOB).unwrap(),
            auth::hash_secret(CAROL).unwrap(),
        )
    })
}

/// A running daemon with its HTTP API.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub daemon: Arc<Daemon>,
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub runtime_handle: tokio::runtime::Handle,
}

/// Writes the scratch directory; `extra` is appended to the configuration (YAML).
pub fn write_setup(dir: &Path, http_extra: &str, extra: &str) -> PathBuf {
    let daemon_key = KeyPair::generate().unwrap();
    daemon_key.write_files(dir.join("daemon.key")).unwrap();
    let ids: Vec<String> = (0..3)
        .map(|_| KeyPair::generate().unwrap().id().to_owned())
        .collect();
    std::fs::write(
        dir.join("registry.yaml"),
        format!(
            "version: 1\napprovers:\n  - {{id: alice, roles: [lead], keys: [{}]}}\n  - {{id: bob, roles: [lead], keys: [{}]}}\n  - {{id: carol, roles: [dev], keys: [{}]}}\nattesters:\n  - {{key: {}, methods: [password]}}\n",
            ids[0], ids[1], ids[2], daemon_key.id()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("policy.yaml"), POLICY).unwrap();
    let (a, b, c) = hashes();
    let cfg = format!(
        "socket: {d}/agent.sock\nevidence: {d}/evidence\nkey: {d}/daemon.key\npolicies: [{d}/policy.yaml]\nregistry: {d}/registry.yaml\nlog: {d}/daemon.log\nhttp:\n  listen: 127.0.0.1:0\n  people:\n    - {{id: alice, secret_hash: '{a}'}}\n    - {{id: bob, secret_hash: '{b}'}}\n    - {{id: carol, secret_hash: '{c}'}}\n{http_extra}{extra}",
        d = dir.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, cfg).unwrap();
    path
}

impl Fixture {
    /// A daemon and its HTTP API (`http_extra`: more lines of the `http:` section,
    /// indented by two spaces; `extra`: more top-level configuration).
    pub async fn start(http_extra: &str, extra: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = write_setup(dir.path(), http_extra, extra);
        let config = Config::load(&path).unwrap();
        let http_cfg = config.http.clone().unwrap();
        let daemon = Arc::new(
            tokio::task::spawn_blocking(move || Daemon::open(config).unwrap())
                .await
                .unwrap(),
        );
        let running = http::start(daemon.clone(), http_cfg).await.unwrap();
        Fixture {
            dir,
            daemon,
            base: running.origin.clone(),
            addr: running.addr,
            runtime_handle: tokio::runtime::Handle::current(),
        }
    }

    /// The agent (this test process's uid, as the kernel would name it).
    pub fn agent(&self) -> Peer {
        Peer::from_cred(unsafe_uid(), 0, std::process::id() as i32)
    }

    /// Proposes a bash command as the agent; returns the request id it opened.
    pub async fn propose(&self, command: &str) -> String {
        self.propose_action("bash", serde_json::json!({ "command": command }))
            .await
    }

    /// Proposes an action as the agent; returns the request id it opened.
    pub async fn propose_action(&self, tool: &str, args: serde_json::Value) -> String {
        let d = self.daemon.clone();
        let peer = self.agent();
        let action = Action::new(tool, args).unwrap().with_session("s-1");
        tokio::task::spawn_blocking(move || {
            let g = d.decide(&peer, action, None, false).unwrap();
            g.request()
                .expect("the action opens an approval request")
                .to_owned()
        })
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The evidence directory's records.
    pub fn records(&self) -> Vec<lumenflow_core::Record> {
        lumenflow_core::read_records(&self.dir.path().join("evidence")).unwrap()
    }
}

fn unsafe_uid() -> u32 {
    // The uid of this process, read from /proc (no libc dependency in the tests).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|u| u.parse().ok())
        })
        .unwrap_or(0)
}

/// A browser-like client: keeps cookies, sends the console's Origin and the CSRF token.
pub struct Browser {
    pub http: reqwest::Client,
    pub origin: String,
    pub csrf: Option<String>,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(origin: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            origin: origin.to_owned(),
            csrf: None,
            cookie: None,
        }
    }

    /// Logs in; panics unless it works.
    pub async fn login(&mut self, id: &str, secret: &str) {
        let r = self.post_login(id, secret).await;
        assert_eq!(r.status(), 200, "login of {id}");
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let v: serde_json::Value = r.json().await.unwrap();
        self.csrf = Some(v["csrf"].as_str().unwrap().to_owned());
        self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    }

    pub async fn post_login(&self, id: &str, secret: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/login", self.origin))
            .header("origin", &self.origin)
            .json(&serde_json::json!({"id": id, "secret": secret}))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.origin));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        r.send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// POSTs JSON as the console page does.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        let mut r = self
            .http
            .post(format!("{}{path}", self.origin))
            .header("origin", &self.origin)
            .json(&body);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            r = r.header("x-lumenflow-csrf", t);
        }
        r.send().await.unwrap()
    }

    /// Votes on a request with the binding the console shows for it.
    pub async fn vote(&self, request: &str, verdict: &str, reason: &str) -> reqwest::Response {
        let r = self.get_json(&format!("/api/requests/{request}")).await;
        self.post(
            &format!("/api/requests/{request}/vote"),
            serde_json::json!({"verdict": verdict, "reason": reason, "binding": r["binding"]}),
        )
        .await
    }
}
