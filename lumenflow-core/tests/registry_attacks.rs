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

const DENY: &str = r#"
version: 1
name: guard
default: deny
rules:
  - id: no-prod
    effect: deny
    when: action.tool == "prod"
    overridable_by: ["role:lead"]
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
    quorum: 2
"#;

#[test]
fn verify_lists_the_votes_and_overrides_written_around_the_governor() {
    let d = dir("verify-uncounted");
    let p = people();
    let agent = KeyPair::generate().unwrap();
    // The agent holds the governor's key: it writes "approvals" as a host-trusted
    // governor would, and a forged override of a deny, straight into the log.
    let set = PolicySet::single(Policy::from_yaml(DENY, "guard.yaml").unwrap());
    let host = Governor::open(&d, set.clone(), agent.clone(), GovernorOptions::default()).unwrap();
    let req = host.decide(&deploy()).unwrap().id;
    host.approve(&req, &Approver::new("alice").with_role("lead"), "")
        .unwrap();
    let prod =
        Action::from_value(serde_json::json!({"tool": "prod", "args": {}, "actor": "agent"}))
            .unwrap();
    let den = host.decide(&prod).unwrap();
    assert_eq!(den.verdict(), Verdict::Deny);
    let recs = lumenflow_core::export::read_records(&d).unwrap();
    let deny = recs.iter().find(|r| r.id() == den.id).unwrap();
    let mut body = deny.body.clone();
    body["decision"]["effect"] = serde_json::json!("allow");
    body["decision"]["decided_by"] = serde_json::json!("override");
    body["override"] = serde_json::json!({
        "decision": den.id, "decision_hash": den.hash,
        "actor": {"id": "alice", "roles": ["lead"]}, "reason": "forged",
        "overridable_by": {"guard/no-prod": ["role:lead"]},
    });
    host.append(vec![("override".into(), body)]).unwrap();
    host.close().unwrap();
    drop(host);
    let mut ring = lumenflow_core::Keyring::new();
    ring.add(agent.public());
    // Judged by the host's word, the log is intact and nothing is uncounted.
    let r = lumenflow_core::export::verify_path(&d, Some(&ring), None, &|_| {}).unwrap();
    assert!(r.uncounted.is_empty(), "{:?}", r.uncounted);
    assert_eq!(r.exit_code(), lumenflow_core::verify::exit::VALID);
    // Judged by the registry, the vote and the override do not count, and verify says so.
    let reg = registry(&p, None);
    let r = lumenflow_core::export::verify_path_with(&d, Some(&ring), None, Some(&reg), &|_| {})
        .unwrap();
    assert_eq!(
        r.exit_code(),
        lumenflow_core::verify::exit::UNCOUNTED,
        "{r:?}"
    );
    let all = r.uncounted.join("\n");
    assert!(all.contains("ignored override"), "{all}");
    assert!(all.contains("attested (host)"), "{all}");
    // And a governor under the registry folds the same way: the deny stands.
    let g = Governor::open(
        &d,
        set,
        agent.clone(),
        GovernorOptions {
            registry: Some(reg),
            ..GovernorOptions::default()
        },
    )
    .unwrap();
    assert!(g.rejected_records().join("\n").contains("ignored override"));
    assert_eq!(g.approval(&req).unwrap().state, RequestState::Pending);
}

#[test]
fn a_forged_override_of_no_deny_or_another_action_decides_nothing() {
    let d = dir("forged-override");
    let agent = KeyPair::generate().unwrap();
    let set = PolicySet::single(Policy::from_yaml(DENY, "guard.yaml").unwrap());
    let g = Governor::open(&d, set.clone(), agent.clone(), GovernorOptions::default()).unwrap();
    let prod = Action::from_value(serde_json::json!({"tool": "prod", "args": {"n": 1}})).unwrap();
    let den = g.decide(&prod).unwrap();
    let deny = lumenflow_core::export::read_records(&d)
        .unwrap()
        .into_iter()
        .find(|r| r.id() == den.id)
        .unwrap();
    let forge = |of: &str, binding: &str| {
        let mut body = deny.body.clone();
        body["binding"] = serde_json::json!(binding);
        body["decision"]["effect"] = serde_json::json!("allow");
        body["decision"]["decided_by"] = serde_json::json!("override");
        body["override"] = serde_json::json!({
            "decision": of, "decision_hash": den.hash,
            "actor": {"id": "lead", "roles": ["lead"]}, "reason": "forged",
            "overridable_by": {"guard/no-prod": ["role:lead"]},
        });
        ("override".to_owned(), body)
    };
    let binding = deny.body["binding"].as_str().unwrap().to_owned();
    g.append(vec![forge("nope:1", &binding), forge(&den.id, "sha256:00")])
        .unwrap();
    let why = g.rejected_records().join("\n");
    assert!(why.contains("no deny of this log"), "{why}");
    assert!(why.contains("another action"), "{why}");
    // The deny is still overridable by a real override (it was not marked overridden).
    g.override_deny(
        &den.id,
        &Approver::new("lead").with_role("lead"),
        "incident 7",
    )
    .unwrap();
}
