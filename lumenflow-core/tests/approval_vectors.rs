//! Runs the shared approval, budget and override scenarios (spec/vectors/approvals.json).

use chrono::{DateTime, Utc};
use lumenflow_core::approval::Approver;
use lumenflow_core::clock::ManualClock;
use lumenflow_core::governor::{Governed, Governor, GovernorOptions, Outcome, Status};
use lumenflow_core::keys::KeyPair;
use lumenflow_core::store::Durability;
use lumenflow_core::{Action, Policy, PolicySet};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const VECTORS: &str = include_str!("../../spec/vectors/approvals.json");

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_decision(
    ctx: &str,
    g: &Governed,
    e: &Value,
    names: &HashMap<String, String>,
    outcome: Option<&str>,
) {
    let d = &g.decision;
    let dv = serde_json::to_value(d).unwrap();
    if let Some(v) = e.get("verdict") {
        assert_eq!(
            serde_json::to_value(g.verdict()).unwrap(),
            *v,
            "{ctx}: verdict ({})",
            d.reason
        );
    }
    for f in ["effect", "decided_by"] {
        if let Some(v) = e.get(f) {
            assert_eq!(dv[f], *v, "{ctx}: {f} ({})", d.reason);
        }
    }
    if let Some(rules) = e.get("rules") {
        let got: Vec<String> = d
            .deciding_rules
            .iter()
            .map(|r| format!("{}/{}", r.policy, r.rule))
            .collect();
        assert_eq!(serde_json::to_value(got).unwrap(), *rules, "{ctx}: rules");
    }
    if let Some(r) = e.get("request") {
        let want = &names[&s(r)];
        let got = d.approval.as_ref().and_then(|a| a.request.clone());
        assert_eq!(got.as_deref(), Some(want.as_str()), "{ctx}: request");
    }
    if let Some(o) = e.get("outcome") {
        assert_eq!(outcome, o.as_str(), "{ctx}: outcome");
    }
    if let Some(bs) = e.get("budgets").and_then(Value::as_array) {
        for want in bs {
            let got = d
                .budgets
                .iter()
                .find(|c| *c.budget == *want["budget"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{ctx}: no charge for {want}"));
            let gv = serde_json::to_value(got).unwrap();
            assert_eq!(gv["status"], want["status"], "{ctx}: budget status");
            for f in ["spent", "amount"] {
                if let Some(x) = want.get(f).and_then(Value::as_f64) {
                    assert!(
                        (gv[f].as_f64().unwrap() - x).abs() < 1e-9,
                        "{ctx}: {f}: {gv}"
                    );
                }
            }
        }
    }
}

#[test]
fn approval_scenarios() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let start: DateTime<Utc> = doc["start"].as_str().unwrap().parse().unwrap();
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 6);
    for (n, sc) in scenarios.iter().enumerate() {
        let name = sc["name"].as_str().unwrap();
        let layers: Vec<Policy> = sc["policies"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, p)| Policy::from_yaml(p.as_str().unwrap(), &format!("{name}#{i}")).unwrap())
            .collect();
        let dir = std::env::temp_dir().join(format!("lf-appr-vec-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let clock = Arc::new(ManualClock::new(start));
        let gov_key = match sc.get("governor_key").and_then(Value::as_str) {
            Some(pem) => KeyPair::from_pem(pem, "governor_key").unwrap(),
            None => KeyPair::from_seed(&[3; 32]),
        };
        let registry = sc.get("registry").and_then(Value::as_str).map(|t| {
            Arc::new(lumenflow_core::Registry::parse(t, &format!("{name}: registry")).unwrap())
        });
        let approver_keys: HashMap<String, KeyPair> = sc
            .get("keys")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(n, pem)| {
                        (
                            n.clone(),
                            KeyPair::from_pem(pem.as_str().unwrap(), n).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let g = Governor::open(
            &dir,
            PolicySet::new(layers),
            gov_key.clone(),
            GovernorOptions {
                durability: Durability::None,
                clock: clock.clone(),
                registry,
                ..GovernorOptions::default()
            },
        )
        .unwrap();
        let mut names: HashMap<String, String> = HashMap::new();
        for (i, step) in sc["steps"].as_array().unwrap().iter().enumerate() {
            let ctx = format!("{name}: step {i} {}", step["op"]);
            let expect = step.get("expect");
            let who = |k: &str| -> Approver { serde_json::from_value(step[k].clone()).unwrap() };
            let result: Result<Option<Value>, lumenflow_core::Error> = match step["op"]
                .as_str()
                .unwrap()
            {
                "decide" => {
                    let a = Action::from_value(step["action"].clone()).unwrap();
                    let d = g.decide(&a).unwrap();
                    let recs = lumenflow_core::export::read_records(&dir).unwrap();
                    let outcome = recs
                        .iter()
                        .find(|r| r.kind == "outcome" && r.body["decision"] == d.id.as_str())
                        .map(|r| r.body["status"].as_str().unwrap().to_owned());
                    if let Some(e) = expect {
                        check_decision(&ctx, &d, e, &names, outcome.as_deref());
                    }
                    if let Some(n) = step.get("save") {
                        names.insert(s(n), d.id.clone());
                    }
                    Ok(None)
                }
                op @ ("approve" | "reject") => {
                    let req = &names[&s(&step["request"])];
                    let choice = if op == "approve" {
                        lumenflow_core::Choice::Approve
                    } else {
                        lumenflow_core::Choice::Reject
                    };
                    let a = who("approver");
                    let reason = step["reason"].as_str().unwrap();
                    let sig = step.get("sign").map(|k| {
                        let r = g.approval(req).unwrap();
                        lumenflow_core::sign_vote(
                            &approver_keys[k.as_str().unwrap()],
                            &r.id,
                            &r.binding,
                            choice,
                            &a.id,
                            reason,
                        )
                    });
                    let r = g.vote(req, &a, choice, reason, sig.as_ref());
                    r.map(|r| Some(serde_json::json!({"state": r.state.as_str(), "approvals": r.approvals()})))
                }
                "attest" => {
                    let choice: lumenflow_core::Choice =
                        step["verdict"].as_str().unwrap().parse().unwrap();
                    g.attest(
                        &names[&s(&step["request"])],
                        step["approver_id"].as_str().unwrap(),
                        choice,
                        step["reason"].as_str().unwrap(),
                        step["method"].as_str().unwrap(),
                    )
                    .map(|r| Some(serde_json::json!({"state": r.state.as_str(), "approvals": r.approvals()})))
                }
                "request" => g.approval(&names[&s(&step["request"])]).map(|r| {
                    Some(serde_json::json!({"state": r.state.as_str(), "approvals": r.approvals()}))
                }),
                "advance" => {
                    clock.advance(chrono::Duration::seconds(step["seconds"].as_i64().unwrap()));
                    Ok(None)
                }
                "record" => {
                    let status: Status = step["status"].as_str().unwrap().parse().unwrap();
                    let mut o = Outcome::new(status);
                    o.cost = step.get("cost").and_then(Value::as_f64);
                    o.tokens = step.get("tokens").and_then(Value::as_i64);
                    o.error = step.get("error").and_then(Value::as_str).map(str::to_owned);
                    g.record(&names[&s(&step["decision"])], o).unwrap();
                    Ok(None)
                }
                "override" => match g.override_deny(
                    &names[&s(&step["decision"])],
                    &who("who"),
                    step["reason"].as_str().unwrap(),
                ) {
                    Ok(d) => {
                        if let Some(e) = expect {
                            check_decision(&ctx, &d, e, &names, None);
                        }
                        if let Some(n) = step.get("save") {
                            names.insert(s(n), d.id.clone());
                        }
                        Ok(None)
                    }
                    Err(e) => Err(e),
                },
                "budgets" => {
                    let got = g.budgets().unwrap();
                    for want in expect.unwrap().as_array().unwrap() {
                        let b = got
                            .iter()
                            .find(|b| {
                                b.budget == want["budget"].as_str().unwrap()
                                    && b.account == want["account"].as_str().unwrap()
                            })
                            .unwrap_or_else(|| panic!("{ctx}: no account {want} in {got:?}"));
                        assert!(
                            (b.spent - want["spent"].as_f64().unwrap()).abs() < 1e-9,
                            "{ctx}: {got:?}"
                        );
                    }
                    Ok(None)
                }
                other => panic!("{ctx}: unknown op {other}"),
            };
            match (result, step.get("expect_error")) {
                (Err(e), Some(code)) => assert_eq!(e.code(), code.as_str().unwrap(), "{ctx}: {e}"),
                (Err(e), None) => panic!("{ctx}: unexpected error {e}"),
                (Ok(_), Some(code)) => panic!("{ctx}: expected a {code} error"),
                (Ok(Some(got)), None) => {
                    if let Some(e) = expect {
                        for (k, v) in e.as_object().unwrap() {
                            assert_eq!(got[k], *v, "{ctx}: {k}");
                        }
                    }
                }
                (Ok(None), None) => {}
            }
        }
        g.close().unwrap();
        let mut pinned = lumenflow_core::Keyring::new();
        pinned.add(gov_key.public());
        let report =
            lumenflow_core::export::verify_path(&dir, Some(&pinned), None, &|_| {}).unwrap();
        assert_eq!(report.exit_code(), 0, "{name}: {report:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
