//! Attacks on approvals by whoever can call the governor or append records with its
//! key: votes that skip the writer's checks, one person counted twice, a late vote, a
//! claimed key without a signature. The fold re-checks every vote (spec/approvals.md).

use chrono::TimeZone;
use lumenflow_core::approval::sign;
use lumenflow_core::clock::ManualClock;
use lumenflow_core::governor::{Governor, GovernorOptions, Verdict};
use lumenflow_core::keys::KeyPair;
use lumenflow_core::store::Durability;
use lumenflow_core::{Action, Approver, Choice, Policy, PolicySet, RequestState};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

fn policy(approver_key: &str) -> String {
    format!(
        r#"
version: 1
name: ops
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead", "user:alice", "key:{approver_key}"]
    quorum: 2
    expires_in: 10m
"#
    )
}

fn tempdir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("lf-appr-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Setup {
    gov: Governor,
    clock: Arc<ManualClock>,
    approver_key: KeyPair,
}

fn setup(name: &str) -> Setup {
    let approver_key = KeyPair::from_seed(&[44; 32]);
    let clock = Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap(),
    ));
    let gov = Governor::open(
        tempdir(name),
        PolicySet::single(Policy::from_yaml(&policy(approver_key.id()), "ops.yaml").unwrap()),
        KeyPair::from_seed(&[43; 32]),
        GovernorOptions {
            durability: Durability::None,
            clock: clock.clone(),
            ..GovernorOptions::default()
        },
    )
    .unwrap();
    Setup {
        gov,
        clock,
        approver_key,
    }
}

fn deploy() -> Action {
    Action::new("deploy", json!({"service": "api"}))
        .unwrap()
        .with_actor(lumenflow_core::Actor::agent("agent-7"))
        .with_session("s-1")
}

/// A vote record appended directly, as anyone holding the governor key can, skipping
/// every check `vote` makes.
fn planted_vote(s: &Setup, request: &str, approver: serde_json::Value, extra: serde_json::Value) {
    let req = s.gov.approval(request).unwrap();
    let mut body = json!({
        "request": request,
        "request_hash": req.decision_hash,
        "binding": req.binding,
        "verdict": "approve",
        "approver": approver,
        "reason": "",
        "instance": "planted",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    s.gov.append(vec![("approval".into(), body)]).unwrap();
}

#[test]
fn planted_votes_by_approvers_the_rule_does_not_allow_count_for_nothing() {
    let s = setup("planted");
    let req = s.gov.decide(&deploy()).unwrap().id;
    planted_vote(&s, &req, json!({"id": "mallory"}), json!({}));
    planted_vote(&s, &req, json!({"id": "eve"}), json!({}));
    // The proposer cannot approve its own request either, whatever the record says.
    planted_vote(
        &s,
        &req,
        json!({"id": "agent-7", "roles": ["lead"]}),
        json!({}),
    );
    assert_eq!(s.gov.approval(&req).unwrap().state, RequestState::Pending);
    assert_eq!(
        s.gov.decide(&deploy()).unwrap().verdict(),
        Verdict::ApprovalRequired
    );
    let ignored = s.gov.rejected_records();
    assert_eq!(ignored.len(), 3, "{ignored:?}");
}

#[test]
fn one_person_under_two_names_is_one_vote() {
    let s = setup("names");
    let req = s.gov.decide(&deploy()).unwrap().id;
    s.gov
        .vote(&req, &Approver::new("alice"), Choice::Approve, "", None)
        .unwrap();
    // `user:alice` is alice: the governor treats it as her second vote (ignored)...
    let r = s
        .gov
        .vote(
            &req,
            &Approver::new("user:alice"),
            Choice::Approve,
            "",
            None,
        )
        .unwrap();
    assert_eq!(r.approvals(), 1);
    // ...and a planted record under the other spelling does not count either.
    planted_vote(&s, &req, json!({"id": "user:alice"}), json!({}));
    let r = s.gov.approval(&req).unwrap();
    assert_eq!(r.approvals(), 1);
    assert_eq!(r.state, RequestState::Pending);
}

#[test]
fn one_key_under_two_names_is_one_vote() {
    let s = setup("key");
    let req = s.gov.decide(&deploy()).unwrap().id;
    let binding = s.gov.approval(&req).unwrap().binding;
    for name in ["bob", "robert"] {
        let sig = sign(&s.approver_key, &req, &binding, Choice::Approve, name, "");
        let _ = s
            .gov
            .vote(&req, &Approver::new(name), Choice::Approve, "", Some(&sig));
    }
    let r = s.gov.approval(&req).unwrap();
    assert_eq!(r.approvals(), 1, "{r:?}");
    assert_eq!(r.state, RequestState::Pending);
}

#[test]
fn a_late_vote_or_a_claimed_key_without_a_signature_counts_for_nothing() {
    let s = setup("late");
    let req = s.gov.decide(&deploy()).unwrap().id;
    // A key claimed, no signature carried.
    planted_vote(
        &s,
        &req,
        json!({"id": "bob"}),
        json!({"key_id": s.approver_key.id()}),
    );
    s.gov
        .vote(&req, &Approver::new("alice"), Choice::Approve, "", None)
        .unwrap();
    s.clock.advance(chrono::Duration::minutes(11));
    // After expiry, a vote written past the governor's checks.
    planted_vote(
        &s,
        &req,
        json!({"id": "carl", "roles": ["lead"]}),
        json!({}),
    );
    let r = s.gov.approval(&req).unwrap();
    assert_eq!(r.approvals(), 1, "{r:?}");
    assert_eq!(r.state, RequestState::Expired);
    let ignored = s.gov.rejected_records();
    assert!(
        ignored.iter().any(|m| m.contains("no signature")),
        "{ignored:?}"
    );
    assert!(ignored.iter().any(|m| m.contains("expired")), "{ignored:?}");
}
