//! The load-time check of CEL conditions: a call to a function that does not exist, or
//! with the wrong number of arguments, is rejected when the policy loads, with the
//! file, line, column and rule id, instead of failing closed at evaluation.

use lumenflow_core::policy::Policy;

fn errors(when: &str) -> Vec<String> {
    let src =
        format!("version: 1\nname: t\nrules:\n  - id: r1\n    effect: deny\n    when: {when}\n");
    match Policy::from_yaml(&src, "p.yaml") {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics().iter().map(|d| d.to_string()).collect(),
    }
}

/// Expects one error, at the `(` of the call `at` (which ends in `(`), saying `needle`.
#[track_caller]
fn rejected(when: &str, at: &str, needle: &str) {
    let e = errors(when);
    assert_eq!(e.len(), 1, "`{when}`: {e:#?}");
    // `    when: ` is 10 columns; columns count from 1.
    let col = 11 + when.find(at).expect("call in expression") + at.len() - 1;
    let want = format!("p.yaml:6:{col}: rule `r1`: when: ");
    assert!(e[0].starts_with(&want), "`{when}`: {} (want {want})", e[0]);
    assert!(e[0].contains(needle), "`{when}`: {} (want {needle})", e[0]);
}

#[test]
fn unknown_functions_are_rejected_at_load() {
    // Typos of real functions, global and member style, and namespaced ones.
    rejected(
        "action.tool.charAtt(0) == 'b'",
        "charAtt(",
        "unknown function `charAtt`",
    );
    rejected(
        "substr(action.tool, 1) == 'b'",
        "substr(",
        "unknown function `substr`",
    );
    rejected(
        "math.absolute(-1) == 1",
        "absolute(",
        "unknown function `math.absolute`",
    );
    rejected(
        "base64.encodee(b'a') == 'YQ=='",
        "encodee(",
        "unknown function `base64.encodee`",
    );
    // Two-variable macros with a wrong number of arguments are not macros: unknown.
    rejected(
        "action.args.all(action, action, action, true)",
        "all(",
        "unknown function `all`",
    );
    // The two variables of a two-variable macro must differ: at the second one.
    rejected(
        "action.args.all(v, v, v == 1)",
        "all(v, v",
        "duplicate variable name `v`",
    );
    rejected(
        "type(action.tool, 1) == string",
        "type(",
        "`type` takes 1 argument",
    );
}

#[test]
fn wrong_arities_and_call_styles_are_rejected_at_load() {
    rejected(
        "action.tool.charAt() == 'b'",
        "charAt(",
        "`charAt` takes 1 argument",
    );
    rejected(
        "action.tool.startsWith('a', 'b')",
        "startsWith(",
        "`startsWith` takes 1 argument",
    );
    rejected(
        "size(action.tool, 1) == 2",
        "size(",
        "`size` takes 1 argument",
    );
    rejected("math.abs(1, 2) == 1", "abs(", "`math.abs` takes 1 argument");
    rejected(
        "path.within(action.args.path) ",
        "within(",
        "`path.within` takes 2 arguments",
    );
    rejected(
        "lowerAscii(action.tool) == 'x'",
        "lowerAscii(",
        "called on a value",
    );
}

#[test]
fn known_functions_load() {
    for when in [
        "action.tool.charAt(0) == 'b'",
        "action.tool.substring(1).upperAscii() == 'ASH'",
        "action.tool.indexOf('s') == 2 && action.tool.lastIndexOf('h', 3) == 3",
        "action.tool.split('a').join('-') == 'b-sh'",
        "math.greatest(1, 2, 3) == 3 && math.abs(-2) == 2",
        "base64.encode(b'a') == 'YQ=='",
        "optional.of(1).hasValue() && action.args.?path.orValue('') != 'x'",
        "action.actor.roles.sort().distinct().size() >= 0",
        "size(action.tool) == 4 && action.tool.size() == 4",
        "type(action.tool) == string && type(1) != type('1')",
        "action.args.exists(k, v, k == 'a' && v == 1)",
        "action.args.all(k, v, k.size() < 9) && action.args.existsOne(k, v, v == 2)",
        "action.args.x.transformList(i, v, v > i, v * 2).size() > 0",
        "action.args.transformMap(k, v, v).size() > 0",
        "action.args.x.transformMapEntry(i, v, {v:i}).size() > 0",
        "action.args.`content-type` == 'text/html'",
        "timestamp(0) < timestamp('2000-01-01T00:00:00Z')",
        "string(ip('10.0.0.1')) == '10.0.0.1' && type(ip('::1')) == net.IP",
    ] {
        let e = errors(when);
        assert!(e.is_empty(), "`{when}` should load: {e:#?}");
    }
}
