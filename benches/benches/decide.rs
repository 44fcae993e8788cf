//! `decide` throughput, with Cedar (`cedar-policy`) on equivalent policies in the same run.
//!
//! Groups:
//! - `example/<request>`: LumenFlow on `examples/policies/software-delivery.yaml`, and
//!   Cedar on `cedar/software-delivery.cedar`, an equivalent policy. Cedar has no shell,
//!   path or secret helpers, so its requests carry those results precomputed in the
//!   context (the work LumenFlow does inside `decide` is done for Cedar outside the
//!   timing); LumenFlow's figure includes parsing the shell command.
//! - `generated/<n>`: policies of n rules, each `tool == T && args.target == V`, half
//!   deny, in both engines; the request matches one rule.
//!
//! Each measurement builds the request (action + context, or Cedar's `Request` with its
//! `Context`) and decides it, as an embedding program would per tool call.

use cedar_policy::{
    Authorizer, Context as CedarContext, Entities, EntityUid, PolicySet as CedarSet,
    Request as CedarRequest,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lumenflow_core::{Action, Context, Effect, Policy, PolicySet};
use serde_json::{json, Value};
use std::hint::black_box;
use std::str::FromStr;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/policies/software-delivery.yaml"
);
const CEDAR_EXAMPLE: &str = include_str!("../cedar/software-delivery.cedar");

/// A request in both forms: LumenFlow's action, and Cedar's (action name, context).
struct Case {
    name: &'static str,
    action: Value,
    cedar_action: &'static str,
    cedar_context: Value,
    expect: Effect,
}

fn cases() -> Vec<Case> {
    let shell = |programs: &[&str], destructive: bool, writes_outside: bool| {
        json!({
            "programs": programs, "git_destructive": destructive, "recursive_delete": false,
            "writes_outside_worktree": writes_outside, "writes_protected": false,
            "package_install": false, "has_secret": false, "cost": 0,
        })
    };
    vec![
        Case {
            name: "bash_allow",
            action: json!({"tool": "bash", "args": {"command": "cargo test --workspace"}, "actor": "agent-7", "session": "s-1"}),
            cedar_action: "bash",
            cedar_context: shell(&["cargo"], false, false),
            expect: Effect::Allow,
        },
        Case {
            name: "bash_force_push",
            action: json!({"tool": "bash", "args": {"command": "git -C ../x push --force origin main"}, "actor": "agent-7", "session": "s-1"}),
            cedar_action: "bash",
            cedar_context: shell(&["git"], true, false),
            expect: Effect::Deny,
        },
        Case {
            name: "edit_inside",
            action: json!({"tool": "edit", "args": {"path": "src/lib.rs", "old": "a", "new": "b"}, "actor": "agent-7", "session": "s-1"}),
            cedar_action: "edit",
            cedar_context: json!({"path": "/work/repo/src/lib.rs", "has_secret": false, "cost": 0}),
            expect: Effect::Allow,
        },
        Case {
            name: "http_unknown_host",
            action: json!({"tool": "http", "args": {"url": "https://example.com/upload", "method": "POST"}, "actor": "agent-7", "session": "s-1"}),
            cedar_action: "http",
            cedar_context: json!({"scheme": "https", "host": "example.com", "has_secret": false, "cost": 0}),
            expect: Effect::RequireApproval,
        },
        Case {
            name: "read_inside",
            action: json!({"tool": "read", "args": {"path": "README.md"}, "actor": "agent-7", "session": "s-1"}),
            cedar_action: "read",
            cedar_context: json!({"path": "/work/repo/README.md", "has_secret": false, "cost": 0}),
            expect: Effect::Allow,
        },
    ]
}

fn lumen_context() -> Context {
    Context::new()
        .with("worktree", "/work/repo")
        .with("allowed_hosts", json!(["*.github.com", "github.com"]))
}

/// Cedar's entity ids for a request, parsed once (as a program would keep them).
struct CedarIds {
    principal: EntityUid,
    action: EntityUid,
    resource: EntityUid,
}

fn cedar_ids(action: &str) -> CedarIds {
    CedarIds {
        principal: EntityUid::from_str(r#"Agent::"agent-7""#).unwrap(),
        action: EntityUid::from_str(&format!(r#"Action::"{action}""#)).unwrap(),
        resource: EntityUid::from_str(r#"Tool::"any""#).unwrap(),
    }
}

/// Builds Cedar's request: the context from JSON (as LumenFlow's action is), ids cloned.
fn cedar_request_with(ids: &CedarIds, context: &Value) -> CedarRequest {
    let ctx = CedarContext::from_json_value(context.clone(), None).unwrap();
    CedarRequest::new(
        ids.principal.clone(),
        ids.action.clone(),
        ids.resource.clone(),
        ctx,
        None,
    )
    .unwrap()
}

fn cedar_request(action: &str, context: &Value) -> CedarRequest {
    cedar_request_with(&cedar_ids(action), context)
}

fn example(c: &mut Criterion) {
    let set = PolicySet::single(Policy::from_file(EXAMPLE).unwrap());
    let ctx = lumen_context();
    let cedar = with_annotated_ids(CedarSet::from_str(CEDAR_EXAMPLE).unwrap());
    let authorizer = Authorizer::new();
    let entities = Entities::empty();
    let mut g = c.benchmark_group("example");
    for case in cases() {
        // Both engines must agree with the expected effect before they are timed.
        let action = Action::from_value(case.action.clone()).unwrap();
        assert_eq!(
            set.decide(&action, &ctx).effect,
            case.expect,
            "{}",
            case.name
        );
        let r = authorizer.is_authorized(
            &cedar_request(case.cedar_action, &case.cedar_context),
            &cedar,
            &entities,
        );
        let cedar_effect = cedar_effect(&r);
        assert_eq!(cedar_effect, case.expect, "cedar {}: {:?}", case.name, r);

        g.bench_with_input(
            BenchmarkId::new("lumenflow", case.name),
            &case,
            |b, case| {
                b.iter(|| {
                    let action = Action::from_value(case.action.clone()).unwrap();
                    black_box(set.decide(&action, &ctx))
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("lumenflow_decide_only", case.name),
            &action,
            |b, action| b.iter(|| black_box(set.decide(action, &ctx))),
        );
        let ids = cedar_ids(case.cedar_action);
        g.bench_with_input(BenchmarkId::new("cedar", case.name), &case, |b, case| {
            b.iter(|| {
                let req = cedar_request_with(&ids, &case.cedar_context);
                black_box(authorizer.is_authorized(&req, &cedar, &entities))
            })
        });
        let req = cedar_request_with(&ids, &case.cedar_context);
        g.bench_with_input(
            BenchmarkId::new("cedar_decide_only", case.name),
            &req,
            |b, req| b.iter(|| black_box(authorizer.is_authorized(req, &cedar, &entities))),
        );
    }
    g.finish();
}

/// Cedar answers allow/deny; require_approval is modelled as a permit annotated
/// `@approval`, as an embedding program would read it from the determining policies.
fn cedar_effect(r: &cedar_policy::Response) -> Effect {
    match r.decision() {
        cedar_policy::Decision::Deny => Effect::Deny,
        cedar_policy::Decision::Allow => {
            if r.diagnostics()
                .reason()
                .any(|id| id.to_string().starts_with("approval"))
            {
                Effect::RequireApproval
            } else {
                Effect::Allow
            }
        }
    }
}

/// Re-ids every policy by its `@id` annotation, so responses name policies as written.
fn with_annotated_ids(set: CedarSet) -> CedarSet {
    let mut out = CedarSet::new();
    for p in set.policies() {
        let id = p
            .annotation("id")
            .expect("every benchmark policy has an @id")
            .to_owned();
        out.add(p.new_id(cedar_policy::PolicyId::new(id))).unwrap();
    }
    out
}

fn generated_lumenflow(n: usize) -> PolicySet {
    let mut s = String::from("version: 1\nname: generated\ndefault: deny\nrules:\n");
    for i in 0..n {
        let effect = if i % 2 == 0 { "allow" } else { "deny" };
        s.push_str(&format!(
            "  - id: r{i}\n    effect: {effect}\n    when: action.tool == \"tool{}\" && action.args.target == \"t{i}\"\n",
            i % 50
        ));
    }
    PolicySet::single(Policy::from_yaml(&s, "generated").unwrap())
}

fn generated_cedar(n: usize) -> CedarSet {
    let mut s = String::new();
    for i in 0..n {
        let effect = if i % 2 == 0 { "permit" } else { "forbid" };
        s.push_str(&format!(
            "@id(\"r{i}\")\n{effect}(principal, action == Action::\"tool{}\", resource) when {{ context.target == \"t{i}\" }};\n",
            i % 50
        ));
    }
    with_annotated_ids(CedarSet::from_str(&s).unwrap())
}

fn generated(c: &mut Criterion) {
    let authorizer = Authorizer::new();
    let entities = Entities::empty();
    let mut g = c.benchmark_group("generated");
    for n in [10usize, 100, 1000] {
        let set = generated_lumenflow(n);
        let cedar = generated_cedar(n);
        // Match the last allow rule, so a linear scan would have to go through the set.
        let i = if n % 2 == 0 { n - 2 } else { n - 1 };
        let tool = format!("tool{}", i % 50);
        let target = format!("t{i}");
        let action = json!({"tool": tool, "args": {"target": target}, "actor": "agent-7"});
        let ctx = Context::new();
        assert_eq!(
            set.decide(&Action::from_value(action.clone()).unwrap(), &ctx)
                .effect,
            Effect::Allow
        );
        let cedar_ctx = json!({ "target": target });
        let r = authorizer.is_authorized(&cedar_request(&tool, &cedar_ctx), &cedar, &entities);
        assert_eq!(r.decision(), cedar_policy::Decision::Allow);
        g.bench_with_input(BenchmarkId::new("lumenflow", n), &action, |b, action| {
            b.iter(|| {
                let a = Action::from_value(action.clone()).unwrap();
                black_box(set.decide(&a, &ctx))
            })
        });
        let ids = cedar_ids(&tool);
        g.bench_with_input(BenchmarkId::new("cedar", n), &cedar_ctx, |b, cedar_ctx| {
            b.iter(|| {
                let req = cedar_request_with(&ids, cedar_ctx);
                black_box(authorizer.is_authorized(&req, &cedar, &entities))
            })
        });
        let a = Action::from_value(action.clone()).unwrap();
        g.bench_with_input(BenchmarkId::new("lumenflow_decide_only", n), &a, |b, a| {
            b.iter(|| black_box(set.decide(a, &ctx)))
        });
        let req = cedar_request_with(&ids, &cedar_ctx);
        g.bench_with_input(BenchmarkId::new("cedar_decide_only", n), &req, |b, req| {
            b.iter(|| black_box(authorizer.is_authorized(req, &cedar, &entities)))
        });
    }
    g.finish();
}

criterion_group!(benches, example, generated);
criterion_main!(benches);
