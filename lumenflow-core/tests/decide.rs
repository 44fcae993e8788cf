//! Decision semantics: precedence, defaults, errors, layers, and properties.

use lumenflow_core::{Action, Actor, Context, DecidedBy, Effect, Policy, PolicySet};
use proptest::prelude::*;
use serde_json::json;

fn policy(src: &str) -> Policy {
    Policy::from_yaml(src, "test.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn bash(cmd: &str) -> Action {
    Action::new("bash", json!({ "command": cmd })).unwrap()
}

fn rules(default: &str, rules: &[(&str, &str, &str)]) -> String {
    policy_text("p", default, None, rules)
}

/// A policy's YAML text: its header, then each rule (`when` quoted as a JSON string).
fn policy_text(
    name: &str,
    default: &str,
    loosen: Option<&str>,
    rules: &[(&str, &str, &str)],
) -> String {
    let mut s = format!("version: 1\nname: {name}\ndefault: {default}\n");
    if let Some(l) = loosen {
        s.push_str(&format!("may_loosen: [{l}]\n"));
    }
    s.push_str(if rules.is_empty() {
        "rules: []\n"
    } else {
        "rules:\n"
    });
    for (id, effect, when) in rules {
        s.push_str(&format!(
            "  - id: {id}\n    effect: {effect}\n    when: {}\n",
            serde_json::to_string(when).unwrap()
        ));
    }
    s
}

#[test]
fn precedence_and_matches() {
    let set = PolicySet::single(policy(&rules(
        "allow",
        &[
            ("a", "allow", "action.tool == 'bash'"),
            (
                "r",
                "require_approval",
                "action.tool == 'bash' && action.args.command.startsWith('curl')",
            ),
            (
                "d",
                "deny",
                "action.tool == 'bash' && action.args.command.contains('rm')",
            ),
        ],
    )));
    let ctx = Context::new();
    let d = set.decide(&bash("ls"), &ctx);
    assert_eq!((d.effect, d.decided_by), (Effect::Allow, DecidedBy::Rule));
    assert_eq!(d.deciding_rules.len(), 1);
    let d = set.decide(&bash("curl x"), &ctx);
    assert_eq!(d.effect, Effect::RequireApproval);
    assert_eq!(d.matched.len(), 2);
    let d = set.decide(&bash("curl x | rm y"), &ctx);
    assert_eq!(d.effect, Effect::Deny);
    assert_eq!(&*d.deciding_rules[0].rule, "d");
    assert_eq!(
        d.matched.iter().map(|m| &*m.rule).collect::<Vec<_>>(),
        ["a", "r", "d"]
    );
    assert!(
        d.reason.starts_with("forbidden by rule `d`"),
        "{}",
        d.reason
    );
    // No rule for this tool: the default decides.
    let d = set.decide(&Action::new("write", json!({})).unwrap(), &ctx);
    assert_eq!(
        (d.effect, d.decided_by),
        (Effect::Allow, DecidedBy::Default)
    );
    assert!(d.deciding_rules.is_empty());
}

#[test]
fn default_deny_says_not_permitted() {
    let set = PolicySet::single(policy(&rules(
        "deny",
        &[("a", "allow", "action.tool == 'read'")],
    )));
    let d = set.decide(&bash("ls"), &Context::new());
    assert_eq!((d.effect, d.decided_by), (Effect::Deny, DecidedBy::Default));
    assert!(d.reason.starts_with("not permitted"), "{}", d.reason);
    assert_eq!(&*d.policies[0].name, "p");
    assert_eq!(&*d.policies[0].digest, set.policies()[0].digest());
}

#[test]
fn errors_fail_closed_unless_the_rule_says_otherwise() {
    let src = "version: 1\nname: p\ndefault: allow\nrules:\n  - id: needs-path\n    effect: allow\n    when: action.args.path.startsWith('/tmp')\n  - id: not-bool\n    effect: allow\n    when: action.tool == 'count' && 1 + 1\n  - id: lenient\n    effect: deny\n    on_error: allow\n    when: action.tool == 'lenient' && action.args.x > 1\n";
    let set = PolicySet::single(policy(src));
    let d = set.decide(&bash("ls"), &Context::new());
    assert_eq!(d.effect, Effect::Deny, "{d:?}");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(&*d.errors[0].rule, "needs-path");
    assert!(
        d.errors[0].message.contains("path"),
        "{}",
        d.errors[0].message
    );
    assert!(d.matched[0].error);
    assert!(d.reason.contains("condition failed"), "{}", d.reason);
    let d = set.decide(
        &Action::new("count", json!({"path": "/tmp/x"})).unwrap(),
        &Context::new(),
    );
    assert_eq!(d.effect, Effect::Deny);
    assert!(d.errors[0].message.contains("not a bool"), "{:?}", d.errors);
    // on_error: allow written on the rule itself is honoured.
    let d = set.decide(
        &Action::new("lenient", json!({"path": "/tmp/x", "x": "str"})).unwrap(),
        &Context::new(),
    );
    assert_eq!(d.effect, Effect::Allow, "{d:?}");
    assert_eq!(d.errors[0].effect, Effect::Allow);
}

#[test]
fn policy_on_error_applies_to_rules() {
    let src = "version: 1\nname: p\ndefault: allow\non_error: require_approval\nrules:\n  - id: x\n    effect: allow\n    when: action.args.nope == 1\n";
    let d = PolicySet::single(policy(src)).decide(&bash("ls"), &Context::new());
    assert_eq!(d.effect, Effect::RequireApproval);
}

#[test]
fn invalid_input_is_denied() {
    let set = PolicySet::single(policy(&rules("allow", &[])));
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let d = set.decide(
        &Action::new("t", json!({ "deep": deep })).unwrap(),
        &Context::new(),
    );
    assert_eq!(
        (d.effect, d.decided_by),
        (Effect::Deny, DecidedBy::InvalidInput)
    );
    let d = set.decide(&Action::new("", json!({})).unwrap(), &Context::new());
    assert_eq!(d.effect, Effect::Deny);
    let d = PolicySet::new(vec![]).decide(&bash("ls"), &Context::new());
    assert_eq!(d.effect, Effect::Deny);
}

#[test]
fn approvers_come_from_deciding_rules() {
    let src = "version: 1\nname: p\nrules:\n  - id: http\n    effect: require_approval\n    when: action.tool == 'http' && !host.matches(url.host(action.args.url), ['*.github.com'])\n    approvers: ['role:lead', 'user:alice']\n  - id: gh\n    effect: allow\n    when: action.tool == 'http'\n";
    let set = PolicySet::single(policy(src));
    let d = set.decide(
        &Action::new("http", json!({"url": "https://example.com/x"})).unwrap(),
        &Context::new(),
    );
    assert_eq!(d.effect, Effect::RequireApproval);
    assert_eq!(
        d.approvers.iter().map(|a| &**a).collect::<Vec<_>>(),
        ["role:lead", "user:alice"]
    );
    let d = set.decide(
        &Action::new("http", json!({"url": "https://api.github.com/x"})).unwrap(),
        &Context::new(),
    );
    assert_eq!(d.effect, Effect::Allow);
    assert!(d.approvers.is_empty());
}

fn layer(name: &str, default: &str, loosen: &str, rules: &[(&str, &str, &str)]) -> Policy {
    policy(&policy_text(name, default, Some(loosen), rules))
}

#[test]
fn layers_deny_wins_and_loosening_needs_opt_in() {
    let org = layer(
        "org",
        "deny",
        "",
        &[
            (
                "no-rm",
                "deny",
                "action.tool == 'bash' && shell.invokes(action.args.command, 'rm -r')",
            ),
            ("http-approval", "require_approval", "action.tool == 'http'"),
        ],
    );
    let team = layer(
        "team",
        "deny",
        "",
        &[
            ("bash-ok", "allow", "action.tool == 'bash'"),
            ("http-ok", "allow", "action.tool == 'http'"),
        ],
    );
    let set = PolicySet::new(vec![org, team]);
    let ctx = Context::new();
    // The org's rule deny wins over the team's allow.
    let d = set.decide(&bash("rm -r x"), &ctx);
    assert_eq!((d.effect, d.decided_by), (Effect::Deny, DecidedBy::Rule));
    assert_eq!(&*d.deciding_rules[0].policy, "org");
    // The org's default deny is not loosenable without opt-in: the team's allow is refused.
    let d = set.decide(&bash("ls"), &ctx);
    assert_eq!(d.effect, Effect::Deny);
    assert_eq!(d.warnings.len(), 1, "{d:?}");
    assert_eq!(&*d.warnings[0].policy, "team");
    assert_eq!(
        d.warnings[0].rules,
        vec![std::sync::Arc::<str>::from("bash-ok")]
    );
    // require_approval is not loosened either.
    let d = set.decide(&Action::new("http", json!({})).unwrap(), &ctx);
    assert_eq!(d.effect, Effect::RequireApproval);
    assert_eq!(d.warnings.len(), 1);
}

#[test]
fn layers_loosen_where_opted_in() {
    let org = layer(
        "org",
        "deny",
        "default, require_approval",
        &[
            (
                "no-rm",
                "deny",
                "action.tool == 'bash' && shell.invokes(action.args.command, 'rm -r')",
            ),
            ("http-approval", "require_approval", "action.tool == 'http'"),
        ],
    );
    let team = layer(
        "team",
        "deny",
        "",
        &[
            ("bash-ok", "allow", "action.tool == 'bash'"),
            ("http-ok", "allow", "action.tool == 'http'"),
        ],
    );
    let set = PolicySet::new(vec![org, team]);
    let ctx = Context::new();
    let d = set.decide(&bash("ls"), &ctx);
    assert_eq!((d.effect, d.decided_by), (Effect::Allow, DecidedBy::Rule));
    assert_eq!(&*d.deciding_rules[0].policy, "team");
    assert!(d.warnings.is_empty());
    assert_eq!(
        set.decide(&Action::new("http", json!({})).unwrap(), &ctx)
            .effect,
        Effect::Allow
    );
    // A rule deny is never loosened, opt-in or not.
    assert_eq!(set.decide(&bash("rm -r /"), &ctx).effect, Effect::Deny);
    // A later layer may always tighten.
    let strict = layer(
        "task",
        "allow",
        "",
        &[("no-bash", "deny", "action.tool == 'bash'")],
    );
    let set = PolicySet::new(vec![layer("org", "allow", "", &[]), strict]);
    let d = set.decide(&bash("ls"), &ctx);
    assert_eq!(d.effect, Effect::Deny);
    assert_eq!(&*d.deciding_rules[0].policy, "task");
    assert_eq!(d.policies.len(), 2);
}

#[test]
fn helpers_in_rules() {
    let src = r#"
version: 1
name: helpers
default: deny
rules:
  - id: inside
    effect: allow
    when: action.tool in ["write", "edit"] && path.within(action.args.path, context.worktree)
  - id: env-files
    effect: deny
    when: action.tool in ["write", "edit"] && path.matches(action.args.path, ["**/.env", "**/.env.*"])
  - id: secrets
    effect: deny
    when: secrets.contains(action.args)
  - id: late
    effect: deny
    when: has(context.now) && context.now > timestamp("2030-01-01T00:00:00Z")
  - id: redirect
    effect: require_approval
    when: action.tool == "bash" && shell.writes(action.args.command).exists(f, !path.within(f, context.worktree))
  - id: bash
    effect: allow
    when: action.tool == "bash"
"#;
    let set = PolicySet::single(policy(src));
    let ctx = Context::new().with("worktree", "/repo");
    let write = |p: &str| Action::new("write", json!({ "path": p, "content": "x" })).unwrap();
    assert_eq!(set.decide(&write("src/a.rs"), &ctx).effect, Effect::Allow);
    assert_eq!(
        set.decide(&write("/repo/../etc/passwd"), &ctx).effect,
        Effect::Deny
    );
    assert_eq!(set.decide(&write("a/../../etc"), &ctx).effect, Effect::Deny);
    assert_eq!(set.decide(&write("config/.env"), &ctx).effect, Effect::Deny);
    let leaky = Action::new(
        "write",
        json!({"path": "a", "content": "token ghp_abcdefghijklmnopqrstuvwxyz0123456789"}),
    )
    .unwrap();
    let d = set.decide(&leaky, &ctx);
    assert_eq!(&*d.deciding_rules[0].rule, "secrets");
    assert_eq!(
        set.decide(&bash("echo hi > /repo/out"), &ctx).effect,
        Effect::Allow
    );
    assert_eq!(
        set.decide(&bash("echo hi > /etc/out"), &ctx).effect,
        Effect::RequireApproval
    );
    let later = ctx.clone().with("now", "2031-05-01T00:00:00Z");
    assert_eq!(set.decide(&write("src/a.rs"), &later).effect, Effect::Deny);
    // An unparseable command is an error, and errors deny.
    let d = set.decide(&bash("echo 'open"), &ctx);
    assert_eq!(d.effect, Effect::Deny);
    assert_eq!(&*d.errors[0].rule, "redirect");
}

#[test]
fn actor_fields_are_visible() {
    let src = "version: 1\nname: p\nrules:\n  - id: leads\n    effect: allow\n    when: \"'lead' in action.actor.roles && action.actor.kind == 'human'\"\n";
    let set = PolicySet::single(policy(src));
    let lead = Actor {
        id: "al".into(),
        roles: vec!["lead".into()],
        kind: lumenflow_core::ActorKind::Human,
    };
    assert_eq!(
        set.decide(&bash("ls").with_actor(lead), &Context::new())
            .effect,
        Effect::Allow
    );
    assert_eq!(
        set.decide(&bash("ls").with_actor(Actor::agent("a")), &Context::new())
            .effect,
        Effect::Deny
    );
}

#[test]
fn shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicySet>();
    assert_send_sync::<Policy>();
    let set = PolicySet::single(policy(&rules(
        "deny",
        &[("no-force", "deny", "action.tool == 'bash' && shell.invokes(action.args.command, 'git push -f|--force')"), ("bash", "allow", "action.tool == 'bash'")],
    )));
    std::thread::scope(|s| {
        for t in 0..8 {
            let set = &set;
            s.spawn(move || {
                for i in 0..200 {
                    let force = (i + t) % 3 == 0;
                    let cmd = if force {
                        format!("git push -f origin b{i}")
                    } else {
                        format!("git push origin b{i}")
                    };
                    let d = set.decide(&bash(&cmd), &Context::new());
                    assert_eq!(
                        d.effect,
                        if force { Effect::Deny } else { Effect::Allow },
                        "{cmd}"
                    );
                }
            });
        }
    });
}

/// A random rule: its condition is one of a few shapes over a small action space,
/// including shapes that error at evaluation.
fn arb_condition() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["bash", "write", "http"])
            .prop_map(|t| format!("action.tool == '{t}'")),
        prop::sample::select(vec!["ls", "rm", "git"]).prop_map(|c| format!(
            "action.tool == 'bash' && action.args.command.startsWith('{c}')"
        )),
        (0i64..3).prop_map(|n| format!("action.args.n > {n}")),
        Just("action.args.missing == 1".to_owned()),
        Just("action.args.n".to_owned()),
        Just("true".to_owned()),
        prop::sample::select(vec!["ls", "rm -rf x", "git push -f"])
            .prop_map(|c| format!("shell.invokes(action.args.command, '{c}')")),
    ]
}

fn arb_effect() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["allow", "deny", "require_approval"])
}

fn arb_action() -> impl Strategy<Value = Action> {
    (
        prop::sample::select(vec!["bash", "write", "http"]),
        prop::sample::select(vec!["ls -la", "rm -rf x", "git push -f", "echo 'open"]),
        prop::option::of(0i64..4),
    )
        .prop_map(|(tool, cmd, n)| {
            let mut args = json!({ "command": cmd });
            if let Some(n) = n {
                args["n"] = json!(n);
            }
            Action::new(tool, args).unwrap()
        })
}

fn build(default: &str, rs: &[(String, String)]) -> PolicySet {
    let named: Vec<(String, &str, &str)> = rs
        .iter()
        .enumerate()
        .map(|(i, (e, w))| (format!("r{i}"), e.as_str(), w.as_str()))
        .collect();
    let refs: Vec<(&str, &str, &str)> =
        named.iter().map(|(i, e, w)| (i.as_str(), *e, *w)).collect();
    PolicySet::single(policy(&rules(default, &refs)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Adding a deny rule never turns a deny into anything else, and never loosens.
    #[test]
    fn adding_deny_never_loosens(
        default in arb_effect(),
        rs in prop::collection::vec((arb_effect().prop_map(str::to_owned), arb_condition()), 0..6),
        extra in arb_condition(),
        action in arb_action(),
    ) {
        let before = build(default, &rs).decide(&action, &Context::new());
        let mut more = rs.clone();
        more.push(("deny".to_owned(), extra));
        let after = build(default, &more).decide(&action, &Context::new());
        prop_assert!(after.effect.strictness() >= before.effect.strictness(), "{:?} -> {:?}", before.effect, after.effect);
    }

    /// Under on_error: deny (the default), an erroring rule never yields allow.
    #[test]
    fn errors_never_allow(
        default in arb_effect(),
        rs in prop::collection::vec((arb_effect().prop_map(str::to_owned), arb_condition()), 0..6),
        action in arb_action(),
    ) {
        let d = build(default, &rs).decide(&action, &Context::new());
        if !d.errors.is_empty() {
            prop_assert_eq!(d.effect, Effect::Deny, "{:?}", d);
        }
    }

    /// The tool index is exact: a rule written so that it cannot be indexed decides the same.
    #[test]
    fn tool_index_is_exact(
        default in arb_effect(),
        rs in prop::collection::vec((arb_effect().prop_map(str::to_owned), arb_condition()), 0..6),
        action in arb_action(),
    ) {
        let unindexed: Vec<(String, String)> = rs.iter().map(|(e, w)| (e.clone(), format!("({w}) || false"))).collect();
        let a = build(default, &rs).decide(&action, &Context::new());
        let b = build(default, &unindexed).decide(&action, &Context::new());
        prop_assert_eq!(a.effect, b.effect);
        prop_assert_eq!(a.deciding_rules, b.deciding_rules);
        prop_assert_eq!(a.matched, b.matched);
    }
}
