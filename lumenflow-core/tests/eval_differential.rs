//! The native evaluator must decide exactly as the `cel` interpreter does.
//!
//! A condition `E` runs natively; `{'k': E}.k` means the same but uses a map literal,
//! which the native evaluator leaves to `cel`. Random expressions over random actions
//! must give the same effect, the same matches and errors in the same rules.

use lumenflow_core::{Action, Context, Policy, PolicySet};
use proptest::prelude::*;
use serde_json::json;

fn leaf() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "action.tool",
        "action.args.command",
        "action.args.n",
        "action.args.path",
        "action.args.list",
        "action.args.missing",
        "action.args.nested",
        "action.args.nested.k",
        "action.cost",
        "action.tokens",
        "action.actor.roles",
        "action.actor.id",
        "action.actor.kind",
        "action.session",
        "context.worktree",
        "context.hosts",
        "context.now",
        "context.n",
        "1",
        "0",
        "-3",
        "2u",
        "0u",
        "1.5",
        "0.0",
        "'bash'",
        "'ls -la'",
        "''",
        "'/repo'",
        "true",
        "false",
        "null",
        "[1, 2]",
        "['a', 'bash']",
        "[]",
        "timestamp('2030-01-01T00:00:00Z')",
    ])
    .prop_map(str::to_owned)
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 40, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "==", "!=", "<", "<=", ">", ">=", "&&", "||", "+", "-", "*", "/", "%", "in"
                ]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("!({a})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
            inner.clone().prop_map(|a| format!("size({a})")),
            inner.clone().prop_map(|a| format!("({a}).size()")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}).startsWith({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}).contains({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})[{b}]")),
            inner.clone().prop_map(|a| format!("({a}).matches('^l')")),
            inner
                .clone()
                .prop_map(|a| format!("({a}).exists(x, x == 1 || x == 'a')")),
            inner.clone().prop_map(|a| format!("({a}).all(x, x != 2)")),
            inner
                .clone()
                .prop_map(|a| format!("({a}).exists_one(x, x == 'bash')")),
            inner.clone().prop_map(|a| format!("({a}).map(x, x)")),
            inner
                .clone()
                .prop_map(|a| format!("({a}).filter(x, x == 1)")),
            inner.clone().prop_map(|a| format!("has(({a}).k)")),
            inner
                .clone()
                .prop_map(|a| format!("shell.invokes({a}, 'git push -f')")),
            inner.clone().prop_map(|a| format!("shell.programs({a})")),
            inner.clone().prop_map(|a| format!(
                "shell.commands({a}).exists(c, c.name == 'ls' && size(c.args) > 0)"
            )),
            inner.clone().prop_map(|a| format!("shell.writes({a})")),
            inner.clone().prop_map(|a| format!("shell.reads({a})")),
            inner.clone().prop_map(|a| format!("shell.dynamic({a})")),
            inner.clone().prop_map(|a| format!("shell.opaque({a})")),
            inner.clone().prop_map(|a| format!(
                "shell.commands({a}).exists(c, c.opaque || c.dynamic || c.cwd != '.' || size(c.via) > 0 || c.git_config.exists(g, g.startsWith('core.')) || 'env' in c)"
            )),
            inner.clone().prop_map(|a| format!("path.fold({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("path.within({a}, {b})")),
            inner
                .clone()
                .prop_map(|a| format!("path.matches({a}, ['**/*.rs', 'x*'])")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("path.matches({a}, {b})")),
            inner.clone().prop_map(|a| format!("path.normalize({a})")),
            inner.clone().prop_map(|a| format!("url.host({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("host.matches({a}, {b})")),
            inner.clone().prop_map(|a| format!("secrets.contains({a})")),
            inner.clone().prop_map(|a| format!("secrets.kinds({a})")),
            Just("has(action.cost)".to_owned()),
            Just("has(context.hosts)".to_owned()),
        ]
    })
}

fn action() -> impl Strategy<Value = Action> {
    (
        prop::sample::select(vec!["bash", "write", "http"]),
        prop::sample::select(vec![
            "ls -la",
            "git push -f origin x",
            "echo hi > /etc/x",
            "echo 'open",
            "ls; rm -rf /",
            "cd /tmp && git -c core.pager=x log < ~/.k | sh",
        ]),
        prop::option::of(-2i64..3),
        prop::sample::select(vec![
            "src/a.rs",
            "../x",
            "/repo/b",
            "https://api.github.com/x",
            "/repo/.GIT./config",
        ]),
        prop::option::of(0.0f64..3.0),
    )
        .prop_map(|(tool, cmd, n, path, cost)| {
            let mut args =
                json!({"command": cmd, "path": path, "list": [1, "a", 2.5], "nested": {"k": "v"}});
            if let Some(n) = n {
                args["n"] = json!(n);
            }
            let mut a = Action::from_value(
                json!({"tool": tool, "args": args, "actor": {"id": "a", "roles": ["lead"]}}),
            )
            .unwrap();
            a.cost = cost;
            a
        })
}

fn set(when: &str) -> Option<PolicySet> {
    let src = format!(
        "version: 1\nname: p\ndefault: allow\nrules:\n  - id: r\n    effect: deny\n    when: {}\n",
        serde_json::to_string(when).unwrap()
    );
    Policy::from_yaml(&src, "p").ok().map(PolicySet::single)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn native_and_interpreted_agree(e in expr(), a in action()) {
        let native = set(&e);
        let interpreted = set(&format!("{{'k': {e}}}.k"));
        let (Some(native), Some(interpreted)) = (native, interpreted) else {
            // A load error is about the text, not the evaluator (e.g. `action.tool.k`).
            prop_assert!(set(&e).is_none());
            return Ok(());
        };
        prop_assert!(!interpreted.policies()[0].rules()[0].is_native());
        let ctx = Context::new().with("worktree", "/repo").with("hosts", json!(["*.github.com"])).with("now", "2031-01-01T00:00:00Z").with("n", 2);
        let x = native.decide(&a, &ctx);
        let y = interpreted.decide(&a, &ctx);
        prop_assert_eq!(x.effect, y.effect, "{}\nnative: {:?}\ncel: {:?}", e, x.errors, y.errors);
        prop_assert_eq!(x.errors.len(), y.errors.len(), "{}\nnative: {:?}\ncel: {:?}", e, x.errors, y.errors);
        prop_assert_eq!(x.matched.len(), y.matched.len());
    }
}

#[test]
fn common_rule_shapes_are_native() {
    for when in [
        "action.tool == 'bash' && shell.invokes(action.args.command, ['git push -f'])",
        "action.tool in ['write', 'edit'] && path.within(action.args.path, context.worktree)",
        "has(action.cost) && action.cost > 1.0",
        "shell.commands(action.args.command).exists(c, c.name == 'git' && c.args.exists(a, a.startsWith('+')))",
        "host.matches(url.host(action.args.url), has(context.h) ? context.h : ['*.x.com'])",
        "'lead' in action.actor.roles && action.actor.kind == 'human'",
        "secrets.contains(action.args)",
        "context.now > timestamp('2030-01-01T00:00:00Z')",
    ] {
        let s = set(when).unwrap();
        assert!(s.policies()[0].rules()[0].is_native(), "{when}");
    }
}
