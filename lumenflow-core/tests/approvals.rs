//! Approvals, budgets, overrides and replay, end to end through the governor, with state
//! derived from the log (restarts, several governors on one log, many threads).

use chrono::{TimeZone, Utc};
use lumenflow_core::approval::{self, ApprovalError, Approver, Choice, RequestState};
use lumenflow_core::budget::ChargeStatus;
use lumenflow_core::clock::ManualClock;
use lumenflow_core::evidence::kind;
use lumenflow_core::export;
use lumenflow_core::governor::{Governor, GovernorOptions, Outcome, Verdict};
use lumenflow_core::keys::KeyPair;
use lumenflow_core::replay;
use lumenflow_core::store::Durability;
use lumenflow_core::{Action, DecidedBy, Effect, Error, Policy, PolicySet};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

const POLICY: &str = r#"
version: 1
name: ops
default: deny
rules:
  - id: read
    effect: allow
    when: action.tool == "read"
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead", "user:carol", "key:KEYID"]
    quorum: 2
    expires_in: 10m
  - id: http
    effect: require_approval
    when: action.tool == "http"
    approvers: ["role:lead"]
    expires_in: 10m
    auto_approve: action.args.url.startsWith("https://docs.internal/")
  - id: no-prod-db
    effect: deny
    when: action.tool == "sql" && action.args.db == "prod"
    reason: production database
    overridable_by: ["role:sre"]
  - id: no-drop
    effect: deny
    when: action.tool == "sql" && action.args.query.contains("DROP")
  - id: sql
    effect: allow
    when: action.tool == "sql"
  - id: low-balance
    effect: require_approval
    when: action.tool == "llm" && context.budgets["session-cost"].remaining < 0.25
    approvers: ["role:lead"]
  - id: llm
    effect: allow
    when: action.tool == "llm"
budgets:
  - id: session-cost
    per: session
    limit: 1.00
    unit: usd
    charge: action.cost
    warn_at: 0.5
    on_exceed: deny
  - id: daily-tokens
    per: actor
    limit: 1000
    unit: tokens
    window: 24h
    charge: action.tokens
    on_exceed: require_approval
    approvers: ["role:lead"]
"#;

fn approver_key() -> KeyPair {
    KeyPair::from_seed(&[7; 32])
}

fn policies() -> PolicySet {
    let text = POLICY.replace("KEYID", approver_key().id());
    PolicySet::single(Policy::from_yaml(&text, "ops.yaml").unwrap())
}

fn tempdir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("lf-appr-{name}-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn key() -> KeyPair {
    KeyPair::from_seed(&[9; 32])
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap(),
    ))
}

fn open(dir: &PathBuf, clock: &Arc<ManualClock>) -> Governor {
    open_as(dir, clock, key(), GovernorOptions::default())
}

/// A governor with this key and these options, on the test clock, without fsync.
fn open_as(dir: &PathBuf, clock: &Arc<ManualClock>, key: KeyPair, o: GovernorOptions) -> Governor {
    Governor::open(
        dir,
        policies(),
        key,
        GovernorOptions {
            durability: Durability::None,
            clock: clock.clone(),
            ..o
        },
    )
    .unwrap()
}

fn act(tool: &str, args: serde_json::Value, actor: &str, session: &str) -> Action {
    Action::from_value(json!({"tool": tool, "args": args, "actor": actor, "session": session}))
        .unwrap()
}

fn deploy(version: &str) -> Action {
    act(
        "deploy",
        json!({"service": "api", "version": version}),
        "agent-7",
        "s-1",
    )
}

fn lead(id: &str) -> Approver {
    Approver::new(id).with_role("lead")
}

fn approval_err(e: Error) -> ApprovalError {
    match e {
        Error::Approval(a) => a,
        other => panic!("expected an approval error, got {other:?}"),
    }
}

#[test]
fn approval_with_quorum_then_one_shot_grant_bound_to_the_exact_action() {
    let dir = tempdir("quorum");
    let c = clock();
    let g = open(&dir, &c);
    let d = g.decide(&deploy("1.2.3")).unwrap();
    assert_eq!(d.verdict(), Verdict::ApprovalRequired);
    let req = d.request().unwrap().to_owned();
    let r = g.approval(&req).unwrap();
    assert_eq!(r.state, RequestState::Pending);
    assert_eq!(r.quorum, 2);
    assert_eq!(r.expires_at.as_deref(), Some("2026-11-21T09:10:00.000000Z"));

    // Not an approver; the proposer never is.
    let e = approval_err(
        g.approve(&req, &Approver::new("mallory"), "lgtm")
            .unwrap_err(),
    );
    assert!(matches!(e, ApprovalError::NotAnApprover { .. }), "{e}");
    let e = approval_err(
        g.approve(&req, &Approver::new("agent-7").with_role("lead"), "me")
            .unwrap_err(),
    );
    assert!(matches!(e, ApprovalError::NotAnApprover { .. }), "{e}");

    // One approval of two; a duplicate vote does not count twice and writes nothing.
    let r = g.approve(&req, &lead("alice"), "looks fine").unwrap();
    assert_eq!((r.state, r.approvals()), (RequestState::Pending, 1));
    let before = export::read_records(&dir).unwrap().len();
    let r = g.approve(&req, &lead("alice"), "again").unwrap();
    assert_eq!((r.state, r.approvals()), (RequestState::Pending, 1));
    assert_eq!(export::read_records(&dir).unwrap().len(), before);
    // A vote cannot be changed, and the proposer cannot vote under another spelling.
    let e = approval_err(
        g.reject(&req, &lead("alice"), "changed my mind")
            .unwrap_err(),
    );
    assert!(matches!(e, ApprovalError::AlreadyVoted { .. }), "{e}");
    let e = approval_err(
        g.approve(&req, &Approver::new("user:agent-7").with_role("lead"), "me")
            .unwrap_err(),
    );
    assert!(matches!(e, ApprovalError::NotAnApprover { .. }), "{e}");
    // Still not approved: re-proposing asks again.
    assert_eq!(
        g.decide(&deploy("1.2.3")).unwrap().verdict(),
        Verdict::ApprovalRequired
    );
    let r = g.approve(&req, &Approver::new("user:carol"), "ok").unwrap();
    assert_eq!((r.state, r.approvals()), (RequestState::Approved, 2));

    // A different action is not covered; the exact one is, once.
    let other = g.decide(&deploy("1.2.4")).unwrap();
    assert_eq!(other.verdict(), Verdict::ApprovalRequired);
    let other_session = g
        .decide(&act(
            "deploy",
            json!({"service": "api", "version": "1.2.3"}),
            "agent-7",
            "s-2",
        ))
        .unwrap();
    assert_eq!(other_session.verdict(), Verdict::ApprovalRequired);
    let ok = g.decide(&deploy("1.2.3")).unwrap();
    assert_eq!(ok.verdict(), Verdict::Allow, "{}", ok.decision.reason);
    assert_eq!(ok.decision.decided_by, DecidedBy::Approval);
    assert_eq!(
        ok.decision.approval.as_ref().unwrap().request.as_deref(),
        Some(req.as_str())
    );
    g.record(&ok.id, Outcome::success()).unwrap();
    assert_eq!(g.approval(&req).unwrap().state, RequestState::Used);
    assert_eq!(
        g.decide(&deploy("1.2.3")).unwrap().verdict(),
        Verdict::ApprovalRequired,
        "the grant was used"
    );
    // Voting on a closed request is refused.
    let e = approval_err(g.approve(&req, &lead("bob"), "late").unwrap_err());
    assert!(matches!(e, ApprovalError::Closed { .. }), "{e}");
    g.close().unwrap();
    let mut pinned = lumenflow_core::keys::Keyring::new();
    pinned.add(key().public());
    let report = export::verify_path(&dir, Some(&pinned), None, &|_| {}).unwrap();
    assert_eq!(report.exit_code(), 0, "{report:?}");
    // Without pinned keys the log is consistent, but who signed is not proven.
    let report = export::verify_path(&dir, None, None, &|_| {}).unwrap();
    assert_eq!(
        report.exit_code(),
        lumenflow_core::verify::exit::UNPINNED,
        "{report:?}"
    );
    assert!(!report.pinned);
}

#[test]
fn a_reject_closes_the_request_and_expiry_follows_the_clock() {
    let dir = tempdir("expiry");
    let c = clock();
    let g = open(&dir, &c);
    let r1 = g.decide(&deploy("1")).unwrap().id;
    let r = g.reject(&r1, &lead("alice"), "not today").unwrap();
    assert_eq!(r.state, RequestState::Rejected);
    let e = approval_err(g.approve(&r1, &lead("bob"), "").unwrap_err());
    assert!(matches!(e, ApprovalError::Closed { .. }));

    // Expired before approval.
    let r2 = g.decide(&deploy("2")).unwrap().id;
    c.advance(chrono::Duration::minutes(11));
    let e = approval_err(g.approve(&r2, &lead("alice"), "").unwrap_err());
    assert!(matches!(e, ApprovalError::Expired { .. }), "{e}");
    assert_eq!(g.approval(&r2).unwrap().state, RequestState::Expired);

    // Approved, but the grant expires with the request.
    let r3 = g.decide(&deploy("3")).unwrap().id;
    g.approve(&r3, &lead("alice"), "").unwrap();
    g.approve(&r3, &lead("bob"), "").unwrap();
    c.advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    assert_eq!(
        g.decide(&deploy("3")).unwrap().verdict(),
        Verdict::ApprovalRequired
    );
    assert_eq!(g.approval(&r3).unwrap().state, RequestState::Expired);
}

#[test]
fn automatic_approval_is_recorded_as_such() {
    let dir = tempdir("auto");
    let c = clock();
    let g = open(&dir, &c);
    let d = g
        .decide(&act(
            "http",
            json!({"url": "https://docs.internal/x"}),
            "a",
            "s",
        ))
        .unwrap();
    assert_eq!(d.verdict(), Verdict::Allow);
    assert_eq!(d.decision.decided_by, DecidedBy::AutoApproval);
    assert!(d.decision.approval.as_ref().unwrap().automatic[0].starts_with("http: "));
    let d = g
        .decide(&act(
            "http",
            json!({"url": "https://evil.example/"}),
            "a",
            "s",
        ))
        .unwrap();
    assert_eq!(d.verdict(), Verdict::ApprovalRequired);
    let recs = export::read_records(&dir).unwrap();
    assert_eq!(recs[0].body["decision"]["decided_by"], "auto_approval");
}

#[test]
fn signed_approvals_are_verified_and_can_be_required() {
    let dir = tempdir("signed");
    let c = clock();
    let g = open(&dir, &c);
    let req = g.decide(&deploy("9")).unwrap().id;
    let r = g.approval(&req).unwrap();
    let signer = Approver::new("dave");
    // dave is only an approver through his key.
    let e = approval_err(g.approve(&req, &signer, "ok").unwrap_err());
    assert!(matches!(e, ApprovalError::NotAnApprover { .. }));
    let wrong = KeyPair::from_seed(&[8; 32]);
    let sig = approval::sign(&wrong, &r.id, &r.binding, Choice::Approve, "dave", "ok");
    let e = approval_err(
        g.vote(&req, &signer, Choice::Approve, "ok", Some(&sig))
            .unwrap_err(),
    );
    assert!(matches!(e, ApprovalError::NotAnApprover { .. }), "{e}");
    let sig = approval::sign(
        &approver_key(),
        &r.id,
        &r.binding,
        Choice::Approve,
        "dave",
        "ok",
    );
    let e = approval_err(
        g.vote(&req, &signer, Choice::Approve, "changed reason", Some(&sig))
            .unwrap_err(),
    );
    assert!(matches!(e, ApprovalError::BadSignature { .. }), "{e}");
    let r = g
        .vote(&req, &signer, Choice::Approve, "ok", Some(&sig))
        .unwrap();
    assert_eq!(r.votes[0].key_id.as_deref(), Some(approver_key().id()));
    let recs = export::read_records(&dir).unwrap();
    let vote = recs.iter().find(|r| r.kind == kind::APPROVAL).unwrap();
    assert_eq!(vote.body["key_id"], approver_key().id());
    assert!(vote.body["signature"].as_str().unwrap().len() == 128);
}

#[test]
fn state_survives_restarts_and_is_shared_by_governors() {
    let dir = tempdir("restart");
    let c = clock();
    let req = {
        let a = open(&dir, &c);
        a.decide(&deploy("7")).unwrap().id
    };
    let b = open(&dir, &c);
    let other = open(&dir, &c);
    b.approve(&req, &lead("alice"), "").unwrap();
    other.approve(&req, &lead("bob"), "").unwrap();
    // `b` has not seen bob's vote in memory; it reads it from the log.
    let d = b.decide(&deploy("7")).unwrap();
    assert_eq!(d.verdict(), Verdict::Allow);
    // The grant is consumed for everyone.
    assert_eq!(
        other.decide(&deploy("7")).unwrap().verdict(),
        Verdict::ApprovalRequired
    );
}

#[test]
fn budgets_reserve_settle_refund_and_warn() {
    let dir = tempdir("budget");
    let c = clock();
    let g = open(&dir, &c);
    let llm = |cost: f64| {
        Action::from_value(
            json!({"tool": "llm", "args": {}, "actor": "a", "session": "s-1", "cost": cost}),
        )
        .unwrap()
    };
    let d1 = g.decide(&llm(0.4)).unwrap();
    assert_eq!(d1.verdict(), Verdict::Allow);
    assert_eq!(d1.decision.budgets[0].status, ChargeStatus::Charged);
    assert_eq!(d1.decision.budgets[0].spent, 0.0);
    let d2 = g.decide(&llm(0.4)).unwrap();
    assert_eq!(d2.decision.budgets[0].status, ChargeStatus::Warned);
    assert_eq!(d2.decision.budgets[0].spent, 0.4);
    // 0.8 reserved: 0.4 more would exceed 1.00.
    let d3 = g.decide(&llm(0.4)).unwrap();
    assert_eq!(
        d3.verdict(),
        Verdict::BudgetExceeded,
        "{}",
        d3.decision.reason
    );
    assert_eq!(d3.decision.budgets[0].status, ChargeStatus::Exceeded);
    assert!(
        d3.decision.reason.contains("session-cost"),
        "{}",
        d3.decision.reason
    );
    // Settle d1 at its actual cost, refund d2 (it failed): 0.1 spent.
    g.record(&d1.id, Outcome::success().with_cost(0.1)).unwrap();
    g.record(&d2.id, Outcome::failure("rate limited")).unwrap();
    let b = g.budgets().unwrap();
    let s = b.iter().find(|b| b.budget == "session-cost").unwrap();
    assert!((s.spent - 0.1).abs() < 1e-9, "{b:?}");
    // Rules see the budget: with 0.1 + 0.7 spent, remaining < 0.25 needs approval.
    let d4 = g.decide(&llm(0.7)).unwrap();
    assert_eq!(d4.verdict(), Verdict::Allow);
    let d5 = g.decide(&llm(0.01)).unwrap();
    assert_eq!(
        d5.verdict(),
        Verdict::ApprovalRequired,
        "{}",
        d5.decision.reason
    );
    assert_eq!(&*d5.decision.deciding_rules[0].rule, "low-balance");
    // Another session has its own account.
    let other = Action::from_value(
        json!({"tool": "llm", "args": {}, "actor": "a", "session": "s-2", "cost": 0.9}),
    )
    .unwrap();
    assert_eq!(g.decide(&other).unwrap().verdict(), Verdict::Allow);
    // Evidence carries limit, spent and unit.
    let recs = export::read_records(&dir).unwrap();
    let rec = recs
        .iter()
        .find(|r| r.id() == d3.id)
        .expect("the exceeded decision is recorded");
    let charge = &rec.body["decision"]["budgets"][0];
    assert_eq!(charge["status"], "exceeded");
    assert_eq!(charge["limit"], 1.0);
    assert_eq!(charge["unit"], "usd");
    let settled = recs
        .iter()
        .find(|r| r.kind == kind::OUTCOME && r.body["decision"] == d1.id.as_str())
        .unwrap();
    assert_eq!(settled.body["settled"][0]["amount"], 0.1);
}

#[test]
fn budget_windows_roll_and_overruns_can_be_approved() {
    let dir = tempdir("window");
    let c = clock();
    let g = open(&dir, &c);
    let llm = |tokens: i64| {
        Action::from_value(json!({"tool": "llm", "args": {"n": tokens}, "actor": "bot", "session": "s", "tokens": tokens}))
            .unwrap()
    };
    assert_eq!(g.decide(&llm(900)).unwrap().verdict(), Verdict::Allow);
    let over = g.decide(&llm(200)).unwrap();
    assert_eq!(over.verdict(), Verdict::ApprovalRequired);
    assert_eq!(over.decision.decided_by, DecidedBy::Budget);
    g.approve(&over.id, &lead("alice"), "one-off").unwrap();
    let ok = g.decide(&llm(200)).unwrap();
    assert_eq!(ok.verdict(), Verdict::Allow, "{}", ok.decision.reason);
    assert!(ok.decision.budgets[0].reserved);
    // A day later the window has rolled.
    c.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    assert_eq!(g.decide(&llm(999)).unwrap().verdict(), Verdict::Allow);
}

#[test]
fn concurrent_decides_never_overspend() {
    let dir = tempdir("concurrent");
    let c = clock();
    // Two governors on one log (as two processes would be), four threads each.
    let govs = [Arc::new(open(&dir, &c)), Arc::new(open(&dir, &c))];
    let allowed = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..8 {
            let g = govs[t % 2].clone();
            let allowed = &allowed;
            s.spawn(move || {
                for _ in 0..15 {
                    let a = Action::from_value(json!({"tool": "llm", "args": {}, "actor": "x", "session": "shared", "cost": 0.1})).unwrap();
                    let d = g.decide(&a).unwrap();
                    if d.allowed() {
                        allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        g.record(&d.id, Outcome::success()).unwrap();
                    }
                }
            });
        }
    });
    // Limit 1.00 at 0.1 each, but `low-balance` asks approval once remaining < 0.25:
    // allowed at spent 0.0 .. 0.7 (8 decisions), never more.
    assert_eq!(allowed.load(std::sync::atomic::Ordering::SeqCst), 8);
    let spent = govs[0].budgets().unwrap()[0].spent;
    assert!(spent <= 1.0 + 1e-9 && (spent - 0.8).abs() < 1e-9, "{spent}");
}

#[test]
fn overrides_need_an_authorised_actor_and_a_reason_and_are_flagged() {
    let dir = tempdir("override");
    let c = clock();
    let g = open(&dir, &c);
    let denied = g
        .decide(&act(
            "sql",
            json!({"db": "prod", "query": "SELECT 1"}),
            "agent",
            "s",
        ))
        .unwrap();
    assert_eq!(denied.verdict(), Verdict::Deny);
    let sre = Approver::new("olga").with_role("sre");
    let e = approval_err(g.override_deny(&denied.id, &sre, "  ").unwrap_err());
    assert!(matches!(e, ApprovalError::OverrideRefused { .. }));
    let e = approval_err(
        g.override_deny(&denied.id, &Approver::new("bob"), "urgent")
            .unwrap_err(),
    );
    assert!(e.to_string().contains("does not let bob override"), "{e}");
    let o = g
        .override_deny(&denied.id, &sre, "incident 42: read-only query")
        .unwrap();
    assert_eq!(o.verdict(), Verdict::Allow);
    assert_eq!(o.decision.decided_by, DecidedBy::Override);
    g.record(&o.id, Outcome::success()).unwrap();
    let e = approval_err(g.override_deny(&denied.id, &sre, "again").unwrap_err());
    assert!(e.to_string().contains("already overridden"), "{e}");
    // A deny by a rule without overridable_by cannot be overridden.
    let drop = g
        .decide(&act(
            "sql",
            json!({"db": "dev", "query": "DROP TABLE x"}),
            "agent",
            "s",
        ))
        .unwrap();
    assert!(g.override_deny(&drop.id, &sre, "oops").is_err());
    // Flagged in the export.
    let csv = dir.join("out.csv");
    export::export(&dir, &csv, export::Format::Csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let flagged: Vec<&str> = text
        .lines()
        .filter(|l| l.split(',').nth(2) == Some("override"))
        .collect();
    assert_eq!(flagged.len(), 1, "{text}");
    assert!(flagged[0].contains(",yes,"), "{}", flagged[0]);
    assert!(flagged[0].contains("incident 42"), "{}", flagged[0]);
}

#[test]
fn replay_is_deterministic_and_shows_what_a_new_policy_changes() {
    let dir = tempdir("replay");
    let c = clock();
    let g = open(&dir, &c);
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut decisions = 0;
    for i in 0..400 {
        c.advance(chrono::Duration::seconds(30));
        let session = format!("s-{}", next(5));
        let a = match next(6) {
            0 => act("read", json!({"path": format!("/f{i}")}), "a", &session),
            1 => deploy(&format!("{}", next(3))),
            2 => act("http", json!({"url": if next(2) == 0 { "https://docs.internal/a" } else { "https://x.io" }}), "a", &session),
            3 => act("sql", json!({"db": if next(3) == 0 { "prod" } else { "dev" }, "query": "SELECT 1"}), "a", &session),
            4 => Action::from_value(json!({"tool": "llm", "args": {}, "actor": "a", "session": session, "cost": next(30) as f64 / 100.0, "tokens": next(300)})).unwrap(),
            _ => act("unknown", json!({}), "a", &session),
        };
        let d = g.decide(&a).unwrap();
        decisions += 1;
        if let Some(req) = d.request() {
            if next(2) == 0 {
                let _ = g.approve(req, &lead("alice"), "");
                let _ = g.approve(req, &lead("bob"), "");
            }
        }
        if d.allowed() {
            let o = match next(3) {
                0 => Outcome::failure("boom"),
                1 => Outcome::success().with_cost(next(10) as f64 / 100.0),
                _ => Outcome::success(),
            };
            g.record(&d.id, o).unwrap();
        }
    }
    g.close().unwrap();
    let report = replay::replay_path(&dir, &policies()).unwrap();
    assert!(report.same_policies);
    assert!(
        report.decisions >= decisions,
        "{} < {decisions}",
        report.decisions
    );
    let changed: Vec<_> = report.entries.iter().filter(|e| e.changed).collect();
    assert!(
        changed.is_empty(),
        "not deterministic: {:#?}",
        &changed[..changed.len().min(3)]
    );
    assert!(report
        .entries
        .iter()
        .any(|e| e.recorded.decided_by == DecidedBy::Approval));
    assert!(report
        .entries
        .iter()
        .any(|e| e.recorded.decided_by == DecidedBy::Budget));

    // A policy that allows prod reads: exactly the no-prod-db denies change.
    let text = POLICY.replace("KEYID", approver_key().id()).replace(
        "action.args.db == \"prod\"",
        "action.args.db == \"prod\" && false",
    );
    let new = PolicySet::single(Policy::from_yaml(&text, "ops.yaml").unwrap());
    let report = replay::replay_path(&dir, &new).unwrap();
    assert!(!report.same_policies);
    assert!(report.changed > 0);
    for e in &report.entries {
        let was_prod = e.recorded.rules == ["ops/no-prod-db"];
        assert_eq!(e.changed, was_prod, "{e:?}");
        if was_prod {
            assert_eq!(e.replayed.effect, Effect::Allow);
        }
    }
}

#[test]
fn a_host_that_asks_its_user_opens_no_request() {
    let dir = tempdir("host");
    let c = clock();
    let g = open_as(
        &dir,
        &c,
        key(),
        GovernorOptions {
            host_approves: true,
            ..GovernorOptions::default()
        },
    );
    let d = g.decide(&deploy("1")).unwrap();
    assert_eq!(d.decision.effect, Effect::RequireApproval);
    assert!(g.approvals().unwrap().is_empty());
    // The decision stays open for the outcome of the call the host's user let run.
    g.record(&d.id, Outcome::success()).unwrap();
}

#[test]
fn a_signed_state_snapshot_resumes_only_when_it_is_ours_and_matches_the_log() {
    let dir = tempdir("snapshot");
    let c = clock();
    let fresh_view = |g: &Governor| {
        let reqs = g.approvals().unwrap();
        let budgets = g.budgets().unwrap();
        (
            serde_json::to_value(reqs).unwrap(),
            serde_json::to_value(budgets).unwrap(),
        )
    };
    let (req, view) = {
        let g = open(&dir, &c);
        assert!(!g.resumed_from_snapshot());
        let req = g.decide(&deploy("5")).unwrap().id;
        g.approve(&req, &lead("alice"), "").unwrap();
        let llm = Action::from_value(
            json!({"tool": "llm", "args": {}, "actor": "a", "session": "s", "cost": 0.3}),
        )
        .unwrap();
        let d = g.decide(&llm).unwrap();
        g.record(&d.id, Outcome::success().with_cost(0.2)).unwrap();
        let view = fresh_view(&g);
        g.close().unwrap();
        (req, view)
    };
    assert!(dir.join("state/snapshot.json").exists());
    // Same key: resumes, and sees exactly what a full fold sees.
    let g = open(&dir, &c);
    assert!(g.resumed_from_snapshot());
    assert_eq!(fresh_view(&g), view);
    // It keeps going from there: bob's vote completes the quorum.
    g.approve(&req, &lead("bob"), "").unwrap();
    assert_eq!(g.decide(&deploy("5")).unwrap().verdict(), Verdict::Allow);
    drop(g);

    // A snapshot edited without the key (approving a request) is ignored.
    let path = dir.join("state/snapshot.json");
    let r2 = {
        let g = open(&dir, &c);
        let r2 = g.decide(&deploy("6")).unwrap().id;
        g.close().unwrap();
        r2
    };
    let snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let forged = snap
        .to_string()
        .replace("\"state\":\"pending\"", "\"state\":\"approved\"");
    assert_ne!(
        forged,
        snap.to_string(),
        "the snapshot holds a pending request"
    );
    std::fs::write(&path, forged).unwrap();
    let g = open(&dir, &c);
    assert!(!g.resumed_from_snapshot());
    assert_eq!(g.approval(&r2).unwrap().state, RequestState::Pending);
    assert_eq!(
        g.decide(&deploy("6")).unwrap().verdict(),
        Verdict::ApprovalRequired
    );
    g.close().unwrap();
    // Another key's snapshot is not trusted either.
    let other = open_as(
        &dir,
        &c,
        KeyPair::from_seed(&[1; 32]),
        GovernorOptions::default(),
    );
    assert!(!other.resumed_from_snapshot());
}

#[test]
fn votes_from_other_writers_count_only_if_signed_by_a_trusted_key() {
    let dir = tempdir("trust");
    let c = clock();
    let ring = |keys: &[&KeyPair]| {
        let mut k = lumenflow_core::keys::Keyring::new();
        for key in keys {
            k.add(key.public());
        }
        k
    };
    let other_key = KeyPair::from_seed(&[5; 32]);
    // Only its own key: the default.
    let a = open(&dir, &c);
    // Pins the other writer's key as well.
    let pinning = open_as(
        &dir,
        &c,
        key(),
        GovernorOptions {
            trusted_keys: Some(ring(&[&other_key])),
            ..GovernorOptions::default()
        },
    );
    let req = a.decide(&deploy("1")).unwrap().id;
    // Another writer with its own key (published in the directory's keys/, and trusting
    // the first writer's key) approves.
    let b = open_as(
        &dir,
        &c,
        KeyPair::from_seed(&[5; 32]),
        GovernorOptions {
            trusted_keys: Some(ring(&[&key()])),
            ..GovernorOptions::default()
        },
    );
    b.approve(&req, &lead("alice"), "").unwrap();
    b.approve(&req, &lead("bob"), "").unwrap();
    // A key in keys/ is publication, not trust: the default governor ignores those
    // votes, and says so.
    assert_eq!(
        a.decide(&deploy("1")).unwrap().verdict(),
        Verdict::ApprovalRequired
    );
    let rejected = a.rejected_records();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected[0].contains("approval"), "{rejected:?}");
    // A governor given the other writer's key honours them.
    assert_eq!(
        pinning.decide(&deploy("1")).unwrap().verdict(),
        Verdict::Allow
    );
    let rejected = pinning.rejected_records();
    assert!(rejected.is_empty(), "{rejected:?}");
}
