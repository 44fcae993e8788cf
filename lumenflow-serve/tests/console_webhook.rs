//! The webhook against a real local HTTP receiver: a new request is announced with a
//! body Slack accepts and any receiver parses, retried with backoff on failures, final
//! on a 4xx, and never carrying the secret the action held.

mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use common::Fixture;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Receiver {
    /// Answers to give, in order (then 200).
    answers: Arc<Mutex<Vec<u16>>>,
    /// Bodies received, with when.
    got: Arc<Mutex<Vec<(Instant, String)>>>,
}

async fn hook(State(r): State<Receiver>, body: String) -> StatusCode {
    r.got.lock().unwrap().push((Instant::now(), body));
    let mut a = r.answers.lock().unwrap();
    let code = if a.is_empty() { 200 } else { a.remove(0) };
    StatusCode::from_u16(code).unwrap()
}

async fn receiver(answers: Vec<u16>) -> (Receiver, String) {
    let r = Receiver {
        answers: Arc::new(Mutex::new(answers)),
        ..Receiver::default()
    };
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (r, url)
}

async fn wait_for(r: &Receiver, n: usize) -> Vec<(Instant, String)> {
    for _ in 0..200 {
        if r.got.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    r.got.lock().unwrap().clone()
}

const TOKEN: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_request_is_announced_retried_and_never_carries_the_secret() {
    let (r, url) = receiver(vec![500, 503]).await;
    let f = Fixture::start(
        "  public_url: http://127.0.0.1:1/\n",
        &format!("webhook:\n  url: {url}\n  attempts: 4\n  backoff_ms: 100\n"),
    )
    .await;
    // The link in the message is built from public_url (what people are told to open),
    // not from the address the console happens to bind.
    let cfg = f.daemon.config().webhook.clone().unwrap();
    tokio::spawn(lumenflow_serve::webhook::run(f.daemon.clone(), cfg));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let id = f
        .propose(&format!(
            "curl -H 'Authorization: token {TOKEN}' https://api.example/repos"
        ))
        .await;
    let got = wait_for(&r, 3).await;
    assert_eq!(got.len(), 3, "two failures then a success: three attempts");
    // Backoff: 100 ms, then 200 ms.
    let gap1 = got[1].0 - got[0].0;
    let gap2 = got[2].0 - got[1].0;
    assert!(
        gap1 >= Duration::from_millis(90) && gap2 >= Duration::from_millis(180),
        "{gap1:?} {gap2:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.got.lock().unwrap().len(),
        3,
        "nothing more once delivered"
    );
    for (_, body) in &got {
        assert!(
            !body.contains(TOKEN),
            "the secret reached the webhook: {body}"
        );
        assert!(
            !body.contains("abcdefghijklmnopqrstuvwxyz0123456789"),
            "{body}"
        );
    }
    let v: Value = serde_json::from_str(&got[2].1).unwrap();
    // What Slack needs: text and blocks of known types.
    assert!(v["text"]
        .as_str()
        .unwrap()
        .starts_with("LumenFlow: approval needed for bash"));
    for b in v["blocks"].as_array().unwrap() {
        assert!(
            ["section", "context"].contains(&b["type"].as_str().unwrap()),
            "{b}"
        );
    }
    // What any receiver parses.
    let l = &v["lumenflow"];
    assert_eq!(l["event"], "approval_requested");
    assert_eq!(l["request"], id.as_str());
    assert_eq!(l["tool"], "bash");
    assert_eq!(l["rules"], json!(["console-test/curl-needs-anyone"]));
    assert!(
        l["summary"]
            .as_str()
            .unwrap()
            .starts_with("curl -H 'Authorization: [REDACTED:"),
        "{l}"
    );
    assert_eq!(l["console"], format!("http://127.0.0.1:1/#request={id}"));
    assert!(l["expires_at"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_is_final_and_slack_markup_is_escaped() {
    let (r, url) = receiver(vec![400]).await;
    let f = Fixture::start(
        "",
        &format!("webhook:\n  url: {url}\n  attempts: 5\n  backoff_ms: 10\n"),
    )
    .await;
    let cfg = f.daemon.config().webhook.clone().unwrap();
    tokio::spawn(lumenflow_serve::webhook::run(f.daemon.clone(), cfg));
    tokio::time::sleep(Duration::from_millis(50)).await;
    f.propose("git push <!channel> <https://evil.example|click me>")
        .await;
    let got = wait_for(&r, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got.lock().unwrap().len(), 1, "a 400 is not retried");
    let v: Value = serde_json::from_str(&got[0].1).unwrap();
    let blocks = v["blocks"].to_string();
    assert!(
        !blocks.contains("<!channel>") && !blocks.contains("<https://evil.example"),
        "{blocks}"
    );
    assert!(blocks.contains("&lt;!channel&gt;"), "{blocks}");
    let log = std::fs::read_to_string(f.dir.path().join("daemon.log")).unwrap();
    assert!(log.contains("gave up after 1 attempts: HTTP 400"), "{log}");
    assert!(
        !log.contains(&url),
        "the webhook URL (a secret) is never logged: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_receiver_is_retried_then_given_up() {
    // A port nothing listens on: bind one, note it, drop it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = Fixture::start(
        "",
        &format!("webhook:\n  url: http://127.0.0.1:{port}/x\n  attempts: 3\n  backoff_ms: 10\n"),
    )
    .await;
    let cfg = f.daemon.config().webhook.clone().unwrap();
    tokio::spawn(lumenflow_serve::webhook::run(f.daemon.clone(), cfg));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let id = f.propose("git push").await;
    let log_path = f.dir.path().join("daemon.log");
    let mut log = String::new();
    for _ in 0..100 {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("gave up") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(log.contains(&format!("webhook: request {id}: webhook to 127.0.0.1: gave up after 3 attempts: could not connect")), "{log}");
}
