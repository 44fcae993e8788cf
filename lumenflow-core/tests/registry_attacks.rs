//! The approver registry, attacked as the governed agent would: it holds the governor's
//! key and can call the governor (or write records with that key) as it likes.

use lumenflow_core::approval::{sign, Approver, Choice, RequestState};
use lumenflow_core::governor::{Governor, GovernorOptions, Verdict};
use lumenflow_core::keys::KeyPair;
use lumenflow_core::{Action, Policy, PolicySet, Registry};
use std::path::PathBuf;
use std::sync::Arc;

const POLICY: &str = r#"
version: 1
name: ops
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
    quorum: 2
"#;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lf-registry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn set() -> PolicySet {
    PolicySet::single(Policy::from_yaml(POLICY, "ops.yaml").unwrap())
}

fn deploy() -> Action {
    Action::from_value(
        serde_json::json!({"tool": "deploy", "args": {"v": 1}, "actor": "agent", "session": "s"}),
    )
    .unwrap()
}

struct People {
    alice: KeyPair,
    alice2: KeyPair,
    bob: KeyPair,
    carol: KeyPair,
}

fn people() -> People {
    People {
        alice: KeyPair::generate().unwrap(),
        alice2: KeyPair::generate().unwrap(),
        bob: KeyPair::generate().unwrap(),
        carol: KeyPair::generate().unwrap(),
    }
}

fn registry(p: &People, attester: Option<&KeyPair>) -> Arc<Registry> {
    let mut text = format!(
        "version: 1\napprovers:\n  - {{id: alice, roles: [lead], keys: [\"{}\", \"{}\"]}}\n  - {{id: bob, roles: [lead], keys: [\"{}\"]}}\n  - {{id: carol, keys: [\"{}\"]}}\n",
        p.alice.id(),
        p.alice2.id(),
        p.bob.id(),
        p.carol.id()
    );
    if let Some(a) = attester {
        text.push_str(&format!(
            "attesters:\n  - {{key: \"{}\", methods: [webauthn]}}\n",
            a.id()
        ));
    }
    Arc::new(Registry::parse(&text, "approvers.yaml").unwrap())
}

fn open(d: &PathBuf, key: &KeyPair, reg: Option<Arc<Registry>>) -> Governor {
    Governor::open(
        d,
        set(),
        key.clone(),
        GovernorOptions {
            registry: reg,
            ..GovernorOptions::default()
        },
    )
    .unwrap()
}

fn signed_vote(
    g: &Governor,
    req: &str,
    who: &str,
    k: &KeyPair,
) -> Result<lumenflow_core::Request, lumenflow_core::Error> {
    let r = g.approval(req).unwrap();
    let s = sign(k, &r.id, &r.binding, Choice::Approve, who, "");
    g.vote(req, &Approver::new(who), Choice::Approve, "", Some(&s))
}

#[test]
fn claimed_names_and_roles_count_for_nothing() {
    let d = dir("claims");
    let p = people();
    let agent = KeyPair::generate().unwrap();
    let g = open(&d, &agent, Some(registry(&p, None)));
    let req = g.decide(&deploy()).unwrap().id;
    for who in [
        Approver::new("alice").with_role("lead"),
        Approver::new("user:alice").with_role("lead"),
        Approver::new("bob"),
    ] {
        let e = g.approve(&req, &who, "ok").unwrap_err().to_string();
        assert!(e.contains("does not count"), "{e}");
    }
    // An attestation by a program the registry does not declare.
    let e = g
        .attest(&req, "alice", Choice::Approve, "", "webauthn")
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not declare"), "{e}");
    // The agent's own key, signing as alice: not registered.
    let e = signed_vote(&g, &req, "alice", &agent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not register"), "{e}");
    // Alice's key signing under bob's name.
    let e = signed_vote(&g, &req, "bob", &p.alice)
        .unwrap_err()
        .to_string();
    assert!(e.contains("names"), "{e}");
    // Registered but not a lead: the claimed role is not what counts.
    let e = signed_vote(&g, &req, "carol", &p.carol)
        .unwrap_err()
        .to_string();
    assert!(e.contains("may not vote"), "{e}");
    assert_eq!(g.approval(&req).unwrap().state, RequestState::Pending);
    assert_eq!(g.approval(&req).unwrap().votes.len(), 0);
}

#[test]
fn one_person_with_two_keys_is_one_vote_and_two_people_make_quorum() {
    let d = dir("quorum");
    let p = people();
    let g = open(&d, &KeyPair::generate().unwrap(), Some(registry(&p, None)));
    let req = g.decide(&deploy()).unwrap().id;
    let r = signed_vote(&g, &req, "alice", &p.alice).unwrap();
    assert_eq!((r.state, r.approvals()), (RequestState::Pending, 1));
    assert!(r.votes[0].registered);
    assert_eq!(r.votes[0].approver.roles, vec!["lead".to_owned()]);
    // Her second key: the same identity, so nothing new (the same verdict writes nothing).
    let r = signed_vote(&g, &req, "alice", &p.alice2).unwrap();
    assert_eq!((r.state, r.approvals()), (RequestState::Pending, 1));
    let r = signed_vote(&g, &req, "bob", &p.bob).unwrap();
    assert_eq!((r.state, r.approvals()), (RequestState::Approved, 2));
    assert_eq!(g.decide(&deploy()).unwrap().verdict(), Verdict::Allow);
}

#[test]
fn votes_written_by_a_host_governor_with_the_same_key_do_not_count_under_a_registry() {
    let d = dir("host");
    let p = people();
    let agent = KeyPair::generate().unwrap();
    // The agent opens the log in-process without a registry (the embedding program's
    // word counts there) and "approves" its own request twice under two names.
    let host = open(&d, &agent, None);
    let req = host.decide(&deploy()).unwrap().id;
    host.approve(&req, &Approver::new("alice").with_role("lead"), "")
        .unwrap();
    let r = host
        .approve(&req, &Approver::new("bob").with_role("lead"), "")
        .unwrap();
    assert_eq!(r.state, RequestState::Approved);
    assert_eq!(r.votes[0].attested.as_deref(), Some("host"));
    host.close().unwrap();
    drop(host);
    // The governor that judges by the registry folds the same log: nothing counts.
    let g = open(&d, &agent, Some(registry(&p, None)));
    let r = g.approval(&req).unwrap();
    assert_eq!(r.state, RequestState::Pending, "{r:?}");
    let rejected = g.rejected_records().join("\n");
    assert!(rejected.contains("attested (host)"), "{rejected}");
    assert_ne!(g.decide(&deploy()).unwrap().verdict(), Verdict::Allow);
}

#[test]
fn declared_attesters_count_registered_people_by_method() {
    let d = dir("attest");
    let p = people();
    let console = KeyPair::generate().unwrap();
    let g = open(&d, &console, Some(registry(&p, Some(&console))));
    let req = g.decide(&deploy()).unwrap().id;
    let e = g
        .attest(&req, "alice", Choice::Approve, "", "password")
        .unwrap_err();
    assert!(e.to_string().contains("does not declare"), "{e}");
    let e = g
        .attest(&req, "mallory", Choice::Approve, "", "webauthn")
        .unwrap_err();
    assert!(e.to_string().contains("not a registered approver"), "{e}");
    g.attest(&req, "alice", Choice::Approve, "", "webauthn")
        .unwrap();
    let r = g
        .attest(&req, "bob", Choice::Approve, "", "webauthn")
        .unwrap();
    assert_eq!(r.state, RequestState::Approved);
    assert_eq!(r.votes[1].attested.as_deref(), Some("webauthn"));
}

#[test]
fn a_registry_that_registers_a_governor_key_is_refused() {
    let d = dir("ownkey");
    let p = people();
    let e = Governor::open(
        &d,
        set(),
        p.alice.clone(),
        GovernorOptions {
            registry: Some(registry(&p, None)),
            ..GovernorOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("an approver's key must be their own"), "{e}");
}
