//! The CEL features added for conformance, as rules use them, with the governed agent
//! as the adversary: two-variable comprehensions, type values, backtick-quoted field
//! names, `timestamp(int)` and `string()` of IPs. Each rule is decided twice, by the
//! native evaluator where it compiles the condition and by the `cel` interpreter (the
//! condition wrapped in `{'k': ...}.k`, which the native evaluator does not compile),
//! and both must agree.

use lumenflow_core::{Action, Context, Effect, Policy, PolicySet};
use serde_json::{json, Value};

fn set(when: &str) -> Result<PolicySet, String> {
    let src = format!(
        "version: 1\nname: p\ndefault: allow\nrules:\n  - id: r\n    effect: deny\n    when: {}\n",
        serde_json::to_string(when).unwrap()
    );
    Policy::from_yaml(&src, "p.yaml")
        .map(PolicySet::single)
        .map_err(|e| e.to_string())
}

/// The effect of the deny rule `when` on `args` (`Allow` if it does not match, `Deny` if
/// it matches or fails), with the number of evaluation errors, checked to be the same
/// natively and in the interpreter.
#[track_caller]
fn decide(when: &str, args: Value) -> (Effect, usize) {
    let action = Action::new("http", args).unwrap();
    let ctx = Context::new();
    let native = set(when).unwrap_or_else(|e| panic!("`{when}`: {e}"));
    let interp = set(&format!("{{'k': {when}}}.k")).unwrap();
    assert!(!interp.policies()[0].rules()[0].is_native());
    let (a, b) = (native.decide(&action, &ctx), interp.decide(&action, &ctx));
    assert_eq!(
        (a.effect, a.errors.len()),
        (b.effect, b.errors.len()),
        "`{when}` on {action:?}: native {:?}, interpreter {:?}",
        a.errors,
        b.errors
    );
    (a.effect, a.errors.len())
}

fn native(when: &str) -> bool {
    set(when).unwrap().policies()[0].rules()[0].is_native()
}

#[test]
fn two_variable_quantifiers_see_keys_and_values() {
    let rule = "action.args.exists(k, v, k.startsWith('x-') && v == 'admin')";
    assert!(
        native(rule),
        "two-variable exists over the arguments is native"
    );
    assert_eq!(decide(rule, json!({"x-role": "admin"})), (Effect::Deny, 0));
    // The key alone, or the value alone, does not match.
    assert_eq!(decide(rule, json!({"role": "admin"})), (Effect::Allow, 0));
    assert_eq!(decide(rule, json!({"x-role": "user"})), (Effect::Allow, 0));
    // A value of another type is unequal, not an error.
    assert_eq!(decide(rule, json!({"x-role": 1})), (Effect::Allow, 0));

    // Lists: the first variable is the index.
    let rule = "action.args.hops.all(i, h, i < 3 && h.endsWith('.internal'))";
    assert!(native(rule));
    assert_eq!(
        decide(rule, json!({"hops": ["a.internal", "b.internal"]})),
        (Effect::Deny, 0)
    );
    assert_eq!(
        decide(
            rule,
            json!({"hops": ["a.internal", "b.internal", "c.internal", "d.internal"]})
        ),
        (Effect::Allow, 0)
    );
}

#[test]
fn nested_two_variable_macros_see_their_own_variables() {
    // The inner macro's target and variables shadow nothing of the outer one's but `v`.
    let rule = "action.args.groups.exists(g, v, v.all(i, v, v != g + '-root'))";
    assert!(native(rule));
    assert_eq!(
        decide(rule, json!({"groups": {"a": ["a-x"], "b": ["b-root"]}})),
        (Effect::Deny, 0)
    );
    assert_eq!(
        decide(rule, json!({"groups": {"a": ["a-root"], "b": ["b-root"]}})),
        (Effect::Allow, 0)
    );
}

#[test]
fn an_agent_cannot_turn_an_error_into_an_allow() {
    // A guard rule "deny unless every header is short": a header that is not a string
    // makes `size(v)` fine but `v.startsWith` an error; the rule fails closed (deny).
    let rule = "!action.args.all(k, v, v.startsWith('ok'))";
    assert_eq!(
        decide(rule, json!({"a": "ok1", "b": "ok2"})),
        (Effect::Allow, 0)
    );
    assert_eq!(
        decide(rule, json!({"a": "ok1", "b": "bad"})),
        (Effect::Deny, 0)
    );
    let (effect, errors) = decide(rule, json!({"a": "ok1", "b": 7}));
    assert_eq!((effect, errors), (Effect::Deny, 1));
    // ... but a decisive element elsewhere decides whatever the error, as `&&` does.
    assert_eq!(decide(rule, json!({"a": 7, "b": "bad"})), (Effect::Deny, 0));
    // existsOne does not absorb errors.
    let rule = "action.args.list.existsOne(i, v, v / i > 1)";
    assert_eq!(decide(rule, json!({"list": [3, 2]})), (Effect::Deny, 1));
}

#[test]
fn transforms_build_lists_and_maps() {
    let rule = "action.args.l.transformList(i, v, v > 1, v * 10 + i) == [21, 32]";
    assert_eq!(decide(rule, json!({"l": [1, 2, 3]})), (Effect::Deny, 0));
    let rule = "action.args.transformMap(k, v, k != 'b', v + 1) == {'a': 2, 'c': 4}";
    assert_eq!(
        decide(rule, json!({"a": 1, "b": 2, "c": 3})),
        (Effect::Deny, 0)
    );
    let rule = "action.args.l.transformMapEntry(i, v, {v: i}) == {'x': 0, 'y': 1}";
    assert_eq!(decide(rule, json!({"l": ["x", "y"]})), (Effect::Deny, 0));
    // Two elements mapping to one key: an error, never a silently dropped entry.
    assert_eq!(decide(rule, json!({"l": ["x", "x"]})), (Effect::Deny, 1));
}

#[test]
fn two_variable_macros_are_checked_at_load() {
    for (when, needle) in [
        (
            "action.args.all(v, v, v == 1)",
            "duplicate variable name `v`",
        ),
        (
            "action.args.exists(k, v.x, v == 1)",
            "argument must be a simple name",
        ),
        ("action.args.all(k, v, w == 1)", "unknown variable `w`"),
        (
            "action.args.transformList(i, v, nosuch(v))",
            "unknown function `nosuch`",
        ),
    ] {
        let e = set(when).expect_err(when);
        assert!(e.contains(needle), "`{when}`: {e}");
        assert!(e.contains("rule `r`"), "`{when}`: {e}");
    }
    // The variables are scoped to the macro.
    assert!(set("action.args.all(k, v, true) && k == 'a'").is_err());
    // The expansion's internal names cannot be written.
    for when in [
        "@iter2(action.args) == []",
        "action.args.all(k, v, @target == action.args)",
        "action.args.transformMap(k, v, @mapInsert({}, k, v)) == {}",
    ] {
        let e = set(when).expect_err(when);
        assert!(e.contains("CEL syntax error"), "`{when}`: {e}");
    }
}

#[test]
fn type_values_are_not_strings() {
    // An agent sending the string "int" does not pass a type check.
    let rule = "type(action.args.n) != int";
    assert_eq!(decide(rule, json!({"n": 5})), (Effect::Allow, 0));
    assert_eq!(decide(rule, json!({"n": "5"})), (Effect::Deny, 0));
    assert_eq!(decide(rule, json!({"n": 5.0})), (Effect::Deny, 0));
    let rule = "action.args.t == int || action.args.t == 'int' && type(action.args.t) == int";
    assert_eq!(decide(rule, json!({"t": "int"})), (Effect::Allow, 0));
    assert_eq!(
        decide(
            "type(action.args) == map && type(type(1)) == type",
            json!({})
        ),
        (Effect::Deny, 0)
    );
    // A timestamp's type is google.protobuf.Timestamp, as in CEL.
    assert_eq!(
        decide(
            "type(timestamp(action.args.t)) == google.protobuf.Timestamp && type(timestamp(1) - timestamp(0)) == google.protobuf.Duration",
            json!({"t": 0})
        ),
        (Effect::Deny, 0)
    );
    assert!(set("google.protobuf.Timestampp == int").is_err());
    // Type names are values, not variables an author can select fields of.
    assert!(
        set("int.x == 1").is_ok(),
        "int.x is a select on a type value"
    );
    assert_eq!(decide("int.x == 1", json!({})), (Effect::Deny, 1));
}

#[test]
fn backtick_quoted_fields() {
    let rule = "action.args.`content-type` == 'text/html'";
    assert_eq!(
        decide(rule, json!({"content-type": "text/html"})),
        (Effect::Deny, 0)
    );
    assert_eq!(
        decide(rule, json!({"content-type": "text/plain"})),
        (Effect::Allow, 0)
    );
    assert_eq!(
        decide("has(action.args.`x.y`)", json!({"x.y": 1})),
        (Effect::Deny, 0)
    );
    // `x.y` quoted is one field, not a path.
    assert_eq!(
        decide("has(action.args.`x.y`)", json!({"x": {"y": 1}})),
        (Effect::Allow, 0)
    );
}

#[test]
fn timestamps_from_seconds_and_ip_strings() {
    assert_eq!(
        decide(
            "timestamp(action.args.t) == timestamp('2004-09-16T23:59:59Z')",
            json!({"t": 1095379199})
        ),
        (Effect::Deny, 0)
    );
    // Outside years 1 to 9999: an error (fail closed), not a wrapped-around instant.
    assert_eq!(
        decide(
            "timestamp(action.args.t) < timestamp('2000-01-01T00:00:00Z')",
            json!({"t": 253402300800i64})
        ),
        (Effect::Deny, 1)
    );
    assert_eq!(
        decide(
            "string(ip(action.args.h)) == '10.0.0.1'",
            json!({"h": "10.0.0.1"})
        ),
        (Effect::Deny, 0)
    );
    // An IPv4-mapped address written in hex is the IPv4 address.
    assert_eq!(
        decide(
            "string(ip(action.args.h)) == '192.168.0.1'",
            json!({"h": "::ffff:c0a8:1"})
        ),
        (Effect::Deny, 0)
    );
    assert_eq!(
        decide(
            "type(cidr(action.args.c)) == net.CIDR && string(cidr(action.args.c)) == '10.0.0.0/8'",
            json!({"c": "10.0.0.0/8"})
        ),
        (Effect::Deny, 0)
    );
}

#[test]
fn durations_hold_the_range_cel_go_and_the_suite_hold() {
    // Durations are held within +-2^63 ns (about 292 years), as cel-go and the
    // conformance suite have them (the suite expects `timestamp('9999-...') -
    // timestamp('0001-...')` to be a range error): beyond, an error, which fails closed.
    for (when, want) in [
        ("duration('9223372036s') > duration('0s')", (Effect::Deny, 0)),
        ("duration('9223372037s') > duration('0s')", (Effect::Deny, 1)),
        (
            "timestamp('9999-12-31T23:59:59Z') - timestamp('0001-01-01T00:00:00Z') > duration('0s')",
            (Effect::Deny, 1),
        ),
        ("timestamp(0) - timestamp(-1) == duration('1s')", (Effect::Deny, 0)),
    ] {
        assert_eq!(decide(when, json!({})), want, "{when}");
    }
}

#[test]
fn timestamp_arithmetic_means_the_same_natively() {
    // Compiled natively (no duration literal): subtraction gives a duration both
    // evaluators compare alike, and overflows alike.
    for (when, want) in [
        (
            "timestamp(action.args.a) - timestamp(action.args.b) == timestamp(action.args.b) - timestamp(action.args.a)",
            (Effect::Allow, 0),
        ),
        (
            "timestamp(action.args.a) - timestamp(action.args.b) > timestamp(action.args.b) - timestamp(action.args.a)",
            (Effect::Deny, 0),
        ),
        (
            "timestamp(action.args.a) - timestamp(action.args.a) == timestamp(action.args.b) - timestamp(action.args.b)",
            (Effect::Deny, 0),
        ),
        (
            "timestamp(action.args.a) + (timestamp(action.args.a) - timestamp(action.args.b)) > timestamp(action.args.a)",
            (Effect::Deny, 0),
        ),
        // CEL has no unary minus of a duration: an error in both.
        (
            "-(timestamp(action.args.a) - timestamp(action.args.b)) < timestamp(action.args.a) - timestamp(action.args.a)",
            (Effect::Deny, 1),
        ),
        (
            "timestamp(action.args.big) - timestamp(action.args.small) > timestamp(action.args.a) - timestamp(action.args.a)",
            (Effect::Deny, 1),
        ),
    ] {
        assert!(native(when), "{when}");
        let args = json!({"a": 2000, "b": 1000, "big": 253402300799i64, "small": -62135596800i64});
        assert_eq!(decide(when, args), want, "{when}");
    }
}
