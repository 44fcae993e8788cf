//! The HTTP API against a real daemon: login, sessions, the cross-site defences, votes
//! attested for registry identities, and every attack of spec/console.md written as a
//! test (no cookie, forged cookie, expired session, CSRF from another origin, a name in
//! the body, approving one's own request, replaying a vote on another request,
//! approving an expired request, guessing secrets).

mod common;

use common::{Browser, Fixture, ALICE, BOB, CAROL};
use lumenflow_core::RequestState;
use serde_json::{json, Value};
use std::time::Duration;

async fn state(f: &Fixture, id: &str) -> RequestState {
    let d = f.daemon.clone();
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || d.governor().approval(&id).unwrap().state)
        .await
        .unwrap()
}

fn approval_records(f: &Fixture) -> usize {
    f.records().iter().filter(|r| r.kind == "approval").count()
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (s, v["error"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_logs_in_sees_the_exact_action_and_approves_with_a_reason() {
    let f = Fixture::start("", "").await;
    let id = f.propose("cd repo && git push origin main").await;
    let mut b = Browser::new(&f.base);
    b.login("alice", ALICE).await;
    assert_eq!(b.get_json("/api/session").await["person"], "alice");

    let list = b.get_json("/api/requests").await;
    let r = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(r["state"], "pending");
    assert_eq!(r["rules"], json!(["console-test/push-needs-lead"]));
    assert_eq!(r["approvers"], json!(["role:lead"]));
    assert_eq!(r["quorum"], 1);
    assert_eq!(r["approvals"], 0);
    assert!(r["actor"].as_str().unwrap().starts_with("unix:"));
    assert_eq!(r["session"], "s-1");
    assert_eq!(
        r["action"]["args"]["command"],
        "cd repo && git push origin main"
    );
    let cmds = r["presentation"]["commands"].as_array().unwrap();
    let git = cmds.iter().find(|c| c["name"] == "git").unwrap();
    assert_eq!(git["args"], json!(["push", "origin", "main"]));
    assert_eq!(git["cwd"], "repo");

    let before = approval_records(&f);
    let res = b.vote(&id, "approve", "reviewed the branch").await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["state"], "approved");
    assert_eq!(v["votes"][0]["approver"]["id"], "alice");
    assert_eq!(v["votes"][0]["attested"], "password");
    assert_eq!(v["votes"][0]["registered"], true);
    assert_eq!(state(&f, &id).await, RequestState::Approved);
    // One vote record, signed by the daemon's key, attested by `password`.
    let recs = f.records();
    let vote = recs.iter().rev().find(|r| r.kind == "approval").unwrap();
    assert_eq!(approval_records(&f), before + 1);
    assert_eq!(vote.key, f.daemon.governor().key_id());
    assert_eq!(vote.body["attestation"]["method"], "password");
    assert_eq!(vote.body["reason"], "reviewed the branch");

    // The same vote again writes nothing; a changed vote is refused.
    let again = b.vote(&id, "approve", "reviewed the branch").await;
    assert!(again.status() == 200 || again.status() == 409);
    assert_eq!(approval_records(&f), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_progress_counts_people_and_a_reject_closes() {
    let f = Fixture::start("", "").await;
    let id = f.propose("./deploy prod").await;
    let mut a = Browser::new(&f.base);
    a.login("alice", ALICE).await;
    let mut b = Browser::new(&f.base);
    b.login("bob", BOB).await;
    let v: Value = a
        .vote(&id, "approve", "ok by me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            v["approvals"].clone(),
            v["quorum"].clone(),
            v["state"].clone()
        ),
        (json!(1), json!(2), json!("pending"))
    );
    // Alice again (a second session of hers) does not make two.
    let mut a2 = Browser::new(&f.base);
    a2.login("alice", ALICE).await;
    let _ = a2.vote(&id, "approve", "ok by me").await;
    assert_eq!(state(&f, &id).await, RequestState::Pending);
    let v: Value = b.vote(&id, "approve", "me too").await.json().await.unwrap();
    assert_eq!(v["state"], "approved");
    assert_eq!(v["approvals"], 2);

    let id2 = f.propose("./deploy staging").await;
    let v: Value = b
        .vote(&id2, "reject", "not today")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "rejected");
    assert_eq!(v["votes"][0]["reason"], "not today");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cookie_forged_cookie_and_logged_out_sessions_are_refused() {
    let f = Fixture::start("", "").await;
    let id = f.propose("git push").await;
    let anon = Browser::new(&f.base);
    for path in [
        "/api/requests",
        "/api/session",
        "/api/evidence",
        "/api/budgets",
        "/api/verify",
        "/api/events",
    ] {
        let (s, e) = error_of(anon.get(path).await).await;
        assert_eq!(
            (s, e.as_str()),
            (401, "not logged in (no session cookie)"),
            "{path}"
        );
    }
    // A vote with no session, even with a CSRF-looking header.
    let mut forged = Browser::new(&f.base);
    forged.csrf = Some("00".repeat(32));
    let r = forged
        .post(
            &format!("/api/requests/{id}/vote"),
            json!({"verdict": "approve", "reason": "x", "binding": "x"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    // A made-up token, and one a real token with a digit changed.
    let mut real = Browser::new(&f.base);
    real.login("alice", ALICE).await;
    let cookie = real.cookie.clone().unwrap();
    for bad in ["lumenflow_session=".to_owned() + &"ab".repeat(32), {
        let mut c = cookie.clone().into_bytes();
        let last = c.len() - 1;
        c[last] = if c[last] == b'0' { b'1' } else { b'0' };
        String::from_utf8(c).unwrap()
    }] {
        let mut b = Browser::new(&f.base);
        b.cookie = Some(bad);
        b.csrf = real.csrf.clone();
        let (s, e) = error_of(b.get("/api/requests").await).await;
        assert_eq!(s, 401);
        assert!(e.contains("unknown"), "{e}");
        let r = b
            .post(
                &format!("/api/requests/{id}/vote"),
                json!({"verdict": "approve", "reason": "x", "binding": "x"}),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    // Logged out: the old cookie is dead.
    assert_eq!(real.post("/api/logout", json!({})).await.status(), 204);
    assert_eq!(real.get("/api/requests").await.status(), 401);
    assert_eq!(state(&f, &id).await, RequestState::Pending);
    assert_eq!(approval_records(&f), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_cannot_vote() {
    let f = Fixture::start("  session_ttl_secs: 1\n", "").await;
    let id = f.propose("git push").await;
    let mut b = Browser::new(&f.base);
    b.login("alice", ALICE).await;
    let binding = b.get_json(&format!("/api/requests/{id}")).await["binding"].clone();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = b
        .post(
            &format!("/api/requests/{id}/vote"),
            json!({"verdict": "approve", "reason": "late", "binding": binding}),
        )
        .await;
    let (s, e) = error_of(r).await;
    assert_eq!((s, e.as_str()), (401, "the session expired; log in again"));
    assert_eq!(state(&f, &id).await, RequestState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_are_refused() {
    let f = Fixture::start("", "").await;
    let id = f.propose("git push").await;
    let mut b = Browser::new(&f.base);
    b.login("alice", ALICE).await;
    let binding = b.get_json(&format!("/api/requests/{id}")).await["binding"].clone();
    let body = json!({"verdict": "approve", "reason": "csrf", "binding": binding}).to_string();
    let url = f.url(&format!("/api/requests/{id}/vote"));
    let cookie = b.cookie.clone().unwrap();
    let csrf = b.csrf.clone().unwrap();
    let send = |origin: Option<&str>, ct: &str, token: Option<&str>| {
        let mut r = b
            .http
            .post(&url)
            .header("cookie", &cookie)
            .header("content-type", ct)
            .body(body.clone());
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(t) = token {
            r = r.header("x-lumenflow-csrf", t);
        }
        r.send()
    };
    // Another origin, even with the right token (a page that stole it still cannot).
    let (s, e) = error_of(
        send(Some("http://evil.example"), "application/json", Some(&csrf))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403);
    assert!(e.contains("cross-origin"), "{e}");
    // The console's host on another port is another origin.
    let other = format!("http://127.0.0.1:{}", f.addr.port() + 1);
    assert_eq!(
        send(Some(&other), "application/json", Some(&csrf))
            .await
            .unwrap()
            .status(),
        403
    );
    // No Origin at all.
    assert_eq!(
        send(None, "application/json", Some(&csrf))
            .await
            .unwrap()
            .status(),
        403
    );
    // A form post (what a cross-site <form> can send).
    assert_eq!(
        send(Some(&f.base), "text/plain", Some(&csrf))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        send(
            Some(&f.base),
            "application/x-www-form-urlencoded",
            Some(&csrf)
        )
        .await
        .unwrap()
        .status(),
        403
    );
    // The right origin without the token, or with another session's token.
    let (s, e) = error_of(send(Some(&f.base), "application/json", None).await.unwrap()).await;
    assert_eq!(
        (s, e.as_str()),
        (403, "missing or wrong x-lumenflow-csrf header")
    );
    let mut other_session = Browser::new(&f.base);
    other_session.login("bob", BOB).await;
    let bobs = other_session.csrf.clone().unwrap();
    assert_eq!(
        send(Some(&f.base), "application/json", Some(&bobs))
            .await
            .unwrap()
            .status(),
        403
    );
    // A login from another origin (login CSRF).
    let r = b
        .http
        .post(f.url("/api/login"))
        .header("origin", "http://evil.example")
        .json(&json!({"id": "alice", "secret": ALICE}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // DNS rebinding: the right port under another name.
    let r = b
        .http
        .get(f.url("/api/requests"))
        .header("host", format!("evil.example:{}", f.addr.port()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421);
    assert_eq!(state(&f, &id).await, RequestState::Pending);
    assert_eq!(approval_records(&f), 0);
    // The same request done right works: the refusals above were the defences.
    assert_eq!(
        send(Some(&f.base), "application/json", Some(&csrf))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_in_the_body_proves_nothing() {
    let f = Fixture::start("", "").await;
    let id = f.propose("git push").await;
    // Carol is registered but not a lead: claiming to be alice changes nothing.
    let mut c = Browser::new(&f.base);
    c.login("carol", CAROL).await;
    let binding = c.get_json(&format!("/api/requests/{id}")).await["binding"].clone();
    for extra in [
        json!({"approver": "alice"}),
        json!({"id": "alice"}),
        json!({"roles": ["lead"]}),
    ] {
        let mut body = json!({"verdict": "approve", "reason": "I am alice", "binding": binding});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (s, e) = error_of(c.post(&format!("/api/requests/{id}/vote"), body).await).await;
        assert_eq!(s, 400, "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }
    let (s, e) = error_of(c.vote(&id, "approve", "I am carol").await).await;
    assert_eq!(s, 403);
    assert!(e.contains("carol may not vote"), "{e}");
    assert_eq!(state(&f, &id).await, RequestState::Pending);
    // An empty reason and a bad verdict are refused, naming what.
    let mut a = Browser::new(&f.base);
    a.login("alice", ALICE).await;
    let (s, e) = error_of(a.vote(&id, "approve", "   ").await).await;
    assert_eq!(s, 400);
    assert!(e.contains("reason"), "{e}");
    let (s, e) = error_of(a.vote(&id, "maybe", "hmm").await).await;
    assert_eq!(s, 400);
    assert!(e.contains("verdict"), "{e}");
    assert_eq!(state(&f, &id).await, RequestState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_approves_their_own_request() {
    let f = Fixture::start("", "").await;
    // A request alice proposed herself, through a trusted program on the same log...
    let d = f.daemon.clone();
    let own = tokio::task::spawn_blocking(move || {
        let a = lumenflow_core::Action::new("bash", json!({"command": "git push"}))
            .unwrap()
            .with_actor(lumenflow_core::Actor::agent("alice"))
            .with_session("s-own");
        d.governor()
            .decide(&a)
            .unwrap()
            .request()
            .unwrap()
            .to_owned()
    })
    .await
    .unwrap();
    // ...and one her OS account's agent proposed through the socket (actor unix:alice).
    let d = f.daemon.clone();
    let via_socket = tokio::task::spawn_blocking(move || {
        let mut peer = lumenflow_serve::daemon::Peer::from_cred(4242, 4242, 1);
        peer.actor = "unix:alice".into();
        let a = lumenflow_core::Action::new("bash", json!({"command": "git push"})).unwrap();
        d.decide(&peer, a, None, false)
            .unwrap()
            .request()
            .unwrap()
            .to_owned()
    })
    .await
    .unwrap();
    let mut a = Browser::new(&f.base);
    a.login("alice", ALICE).await;
    for id in [&own, &via_socket] {
        let (s, e) = error_of(a.vote(id, "approve", "mine").await).await;
        assert_eq!(s, 403, "{id}: {e}");
        assert!(e.contains("alice may not vote"), "{e}");
        assert_eq!(state(&f, id).await, RequestState::Pending);
    }
    // Bob may.
    let mut b = Browser::new(&f.base);
    b.login("bob", BOB).await;
    assert_eq!(b.vote(&own, "approve", "checked").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_replayed_on_another_request_is_refused() {
    let f = Fixture::start("", "").await;
    let harmless = f.propose("git push origin docs").await;
    let dangerous = f.propose("git push --force origin main").await;
    let mut a = Browser::new(&f.base);
    a.login("alice", ALICE).await;
    let binding = a.get_json(&format!("/api/requests/{harmless}")).await["binding"].clone();
    let body = json!({"verdict": "approve", "reason": "docs only", "binding": binding});
    let (s, e) = error_of(
        a.post(&format!("/api/requests/{dangerous}/vote"), body.clone())
            .await,
    )
    .await;
    assert_eq!(s, 409);
    assert!(e.contains("another action"), "{e}");
    assert_eq!(state(&f, &dangerous).await, RequestState::Pending);
    assert_eq!(
        a.post(&format!("/api/requests/{harmless}/vote"), body)
            .await
            .status(),
        200
    );
    assert_eq!(state(&f, &dangerous).await, RequestState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_request_takes_no_vote() {
    let f = Fixture::start("", "").await;
    let id = f.propose("quick thing").await;
    let mut a = Browser::new(&f.base);
    a.login("alice", ALICE).await;
    let r = a.get_json(&format!("/api/requests/{id}")).await;
    assert!(r["expires_at"].is_string());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, e) = error_of(a.vote(&id, "approve", "too late").await).await;
    assert_eq!(s, 410, "{e}");
    assert!(e.contains("expired"), "{e}");
    assert_eq!(state(&f, &id).await, RequestState::Expired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_cannot_be_guessed() {
    let f = Fixture::start("", "").await;
    let b = Browser::new(&f.base);
    let (s, e) = error_of(b.post_login("alice", "wrong").await).await;
    assert_eq!((s, e.as_str()), (401, "unknown person or wrong secret"));
    // An unknown id gets the same answer.
    let (s, e2) = error_of(b.post_login("mallory", ALICE).await).await;
    assert_eq!((s, e2), (401, e));
    // Bob's secret is not alice's.
    assert_eq!(b.post_login("alice", BOB).await.status(), 401);
    for _ in 0..3 {
        b.post_login("alice", "guess").await;
    }
    let r = b.post_login("alice", ALICE).await;
    assert_eq!(
        r.status(),
        429,
        "the right secret is refused once guessing was seen"
    );
    // Bob is not locked out by guesses at alice.
    assert_eq!(b.post_login("bob", BOB).await.status(), 200);
    // A login that names no secret is a clear 400.
    let r = b
        .http
        .post(f.url("/api/login"))
        .header("origin", &f.base)
        .json(&json!({"id": "bob"}))
        .send()
        .await
        .unwrap();
    let (s, e) = error_of(r).await;
    assert_eq!(s, 400);
    assert!(e.contains("secret"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_the_security_headers_and_the_cookie_flags() {
    let f = Fixture::start("", "").await;
    let b = Browser::new(&f.base);
    let r = b.get("/").await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("/console.js") && !page.contains("<script>"),
        "no inline script"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing loaded from elsewhere"
    );
    let r = b.post_login("alice", ALICE).await;
    let c = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Max-Age=28800"),
        "{c}"
    );
    assert_eq!(
        b.get("/api/requests").await.headers()["cache-control"],
        "no-store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_filters_budgets_and_verify() {
    let f = Fixture::start("", "").await;
    f.propose("git push").await;
    let d = f.daemon.clone();
    let peer = f.agent();
    tokio::task::spawn_blocking(move || {
        let a = lumenflow_core::Action::new("bash", json!({"command": "ls"})).unwrap();
        d.decide(&peer, a, None, false).unwrap();
    })
    .await
    .unwrap();
    let mut b = Browser::new(&f.base);
    b.login("alice", ALICE).await;
    let all = b.get_json("/api/evidence").await;
    assert!(all["matched"].as_u64().unwrap() >= 2);
    let asked = b
        .get_json("/api/evidence?kind=decision&effect=require_approval")
        .await;
    let rows = asked["records"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{asked}");
    assert_eq!(rows[0]["summary"], "git push");
    assert_eq!(rows[0]["trusted"], true);
    let allowed = b.get_json("/api/evidence?effect=allow&tool=bash").await;
    assert_eq!(allowed["records"][0]["summary"], "ls");
    let none = b.get_json("/api/evidence?since=2999-01-01T00:00:00Z").await;
    assert_eq!(none["matched"], 0);
    let (s, e) = error_of(b.get("/api/evidence?effect=perhaps").await).await;
    assert_eq!(s, 400);
    assert!(e.contains("effect"), "{e}");
    let (s, _) = error_of(b.get("/api/evidence?until=soon").await).await;
    assert_eq!(s, 400);
    assert!(b.get_json("/api/budgets").await["budgets"].is_array());
    let v = b.get_json("/api/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["report"]["pinned"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_updates_stream_new_requests_and_votes() {
    let f = Fixture::start("", "").await;
    let mut b = Browser::new(&f.base);
    b.login("alice", ALICE).await;
    let mut res = b.get("/api/events").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut seen = String::new();
    let read_until = |needle: &'static str| needle;
    let _ = read_until;
    // The hello arrives first.
    while !seen.contains("event: hello") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let id = f.propose("git push").await;
    while !seen.contains("request_opened") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("event: change") && seen.contains(&id),
        "{seen}"
    );
    let mut other = Browser::new(&f.base);
    other.login("bob", BOB).await;
    other.vote(&id, "approve", "fine").await;
    while !seen.contains("\"voted\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_shown_as_diffs_and_secrets_stay_redacted() {
    let f = Fixture::start("", "").await;
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let edit = f
        .propose_action(
            "edit",
            json!({"path": "/w/src/lib.rs", "old_string": "fn a() {}\n", "new_string": format!("fn a() {{ call(\"{token}\") }}\n")}),
        )
        .await;
    let curl = f
        .propose(&format!(
            "curl -H 'Authorization: token {token}' https://api.example/x"
        ))
        .await;
    let mut b = Browser::new(&f.base);
    b.login("alice", ALICE).await;
    let e = b.get_json(&format!("/api/requests/{edit}")).await;
    let diff = e["presentation"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("-fn a() {}") && diff.contains("+fn a() { call("),
        "{diff}"
    );
    let all = b.get("/api/requests").await.text().await.unwrap();
    let c = b.get_json(&format!("/api/requests/{curl}")).await;
    assert!(c["presentation"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("curl -H"));
    let timeline = b.get("/api/evidence").await.text().await.unwrap();
    for text in [&all, &timeline, &c.to_string(), &e.to_string()] {
        assert!(
            !text.contains(token),
            "a secret reached the console: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_console_does_not_start() {
    use lumenflow_serve::http::{start, HttpConfig, PersonConfig};
    let f = Fixture::start("", "").await;
    let good = f.daemon.config().http.clone().unwrap();
    let bad = |edit: &dyn Fn(&mut HttpConfig)| {
        let mut c = good.clone();
        edit(&mut c);
        c
    };
    let cases: Vec<(HttpConfig, &str)> = vec![
        (bad(&|c| c.listen = "0.0.0.0:0".into()), "http.listen"),
        (bad(&|c| c.listen = "localhost".into()), "http.listen"),
        (
            bad(&|c| c.public_url = Some("ftp://x".into())),
            "http.public_url",
        ),
        (bad(&|c| c.method = "webauthn".into()), "attester"),
        (
            bad(&|c| c.people[0].id = "mallory".into()),
            "http.people[0].id",
        ),
        (
            bad(&|c| c.people[1].secret_hash = "hunter2".into()),
            "\"bob\"",
        ),
        (
            bad(&|c| {
                c.people.push(PersonConfig {
                    id: "alice".into(),
                    secret_hash: c.people[0].secret_hash.clone(),
                })
            }),
            "twice",
        ),
        (bad(&|c| c.people.clear()), "http.people"),
        (bad(&|c| c.session_ttl_secs = 0), "session_ttl_secs"),
    ];
    for (cfg, want) in cases {
        let e = start(f.daemon.clone(), cfg).await.unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
    }
}
