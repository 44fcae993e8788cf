//! The functions a condition may call, with their arities, for the load-time check: a
//! call to anything else is rejected when the policy loads (with file, line, column and
//! rule id), not left to fail closed at evaluation.
//!
//! The table lists CEL's standard functions and the extensions [`super::env`] installs.
//! LumenFlow's own functions are `crate::policy::functions::FUNCTIONS`; their arities,
//! where listed in [`LUMENFLOW_ARITY`], are checked too.

/// How a function is called: `f(x)` or `x.f()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Global,
    Member,
}

use Style::{Global, Member};

/// (name, style, accepted argument counts, not counting a member call's receiver).
const STANDARD: &[(&str, Style, &[usize])] = &[
    // Conversions and the standard library.
    ("size", Global, &[1]),
    ("size", Member, &[0]),
    ("int", Global, &[1]),
    ("uint", Global, &[1]),
    ("double", Global, &[1]),
    ("string", Global, &[1]),
    ("bytes", Global, &[1]),
    ("bool", Global, &[1]),
    ("dyn", Global, &[1]),
    ("type", Global, &[1]),
    ("timestamp", Global, &[1]),
    ("duration", Global, &[1]),
    ("matches", Global, &[2]),
    ("matches", Member, &[1]),
    ("contains", Member, &[1]),
    ("startsWith", Member, &[1]),
    ("endsWith", Member, &[1]),
    ("getFullYear", Member, &[0, 1]),
    ("getMonth", Member, &[0, 1]),
    ("getDayOfYear", Member, &[0, 1]),
    ("getDayOfMonth", Member, &[0, 1]),
    ("getDate", Member, &[0, 1]),
    ("getDayOfWeek", Member, &[0, 1]),
    ("getHours", Member, &[0, 1]),
    ("getMinutes", Member, &[0, 1]),
    ("getSeconds", Member, &[0, 1]),
    ("getMilliseconds", Member, &[0, 1]),
    // Strings extension.
    ("charAt", Member, &[1]),
    ("indexOf", Member, &[1, 2]),
    ("lastIndexOf", Member, &[1, 2]),
    ("lowerAscii", Member, &[0]),
    ("upperAscii", Member, &[0]),
    ("replace", Member, &[2, 3]),
    ("split", Member, &[1, 2]),
    ("substring", Member, &[1, 2]),
    ("trim", Member, &[0]),
    ("join", Member, &[0, 1]),
    ("format", Member, &[1]),
    ("reverse", Member, &[0]),
    ("strings.quote", Global, &[1]),
    // Lists extension.
    ("distinct", Member, &[0]),
    ("flatten", Member, &[0, 1]),
    ("slice", Member, &[2]),
    ("sort", Member, &[0]),
    ("lists.range", Global, &[1]),
    // Math extension.
    ("math.abs", Global, &[1]),
    ("math.sign", Global, &[1]),
    ("math.ceil", Global, &[1]),
    ("math.floor", Global, &[1]),
    ("math.round", Global, &[1]),
    ("math.trunc", Global, &[1]),
    ("math.isInf", Global, &[1]),
    ("math.isNaN", Global, &[1]),
    ("math.isFinite", Global, &[1]),
    ("math.sqrt", Global, &[1]),
    ("math.bitAnd", Global, &[2]),
    ("math.bitOr", Global, &[2]),
    ("math.bitXor", Global, &[2]),
    ("math.bitNot", Global, &[1]),
    ("math.bitShiftLeft", Global, &[2]),
    ("math.bitShiftRight", Global, &[2]),
    // Encoders extension.
    ("base64.encode", Global, &[1]),
    ("base64.decode", Global, &[1]),
    // Optional values.
    ("optional.of", Global, &[1]),
    ("optional.ofNonZeroValue", Global, &[1]),
    ("optional.none", Global, &[0]),
    ("hasValue", Member, &[0]),
    ("value", Member, &[0]),
    ("or", Member, &[1]),
    ("orValue", Member, &[1]),
];

/// Namespaces of the standard table (`math.abs`), so `math` alone is not a variable.
const STANDARD_NAMESPACES: &[&str] = &["strings", "lists", "math", "base64", "optional", "ip"];

/// Arities of LumenFlow's functions (those not listed are checked by name only).
const LUMENFLOW_ARITY: &[(&str, usize)] = &[
    ("shell.commands", 1),
    ("shell.programs", 1),
    ("shell.invokes", 2),
    ("shell.writes", 1),
    ("shell.reads", 1),
    ("shell.dynamic", 1),
    ("shell.opaque", 1),
    ("path.normalize", 1),
    ("path.fold", 1),
    ("path.within", 2),
    ("path.matches", 2),
    ("path.base", 1),
    ("path.ext", 1),
    ("url.parse", 1),
    ("url.host", 1),
    ("url.scheme", 1),
    ("host.matches", 2),
    ("secrets.contains", 1),
    ("secrets.kinds", 1),
];

/// The names of types, which are values (`type(1) == int`): CEL's own (a timestamp's is
/// `google.protobuf.Timestamp`, a duration's `google.protobuf.Duration`), and the
/// network extension's (qualified, `net.IP`).
const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "optional_type",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "net.IP",
    "net.CIDR",
];

/// Whether `name` (qualified with dots where it has a namespace) names a type.
pub(crate) fn is_type_name(name: &str) -> bool {
    TYPE_NAMES.contains(&name)
}

/// The dotted name an identifier or a chain of field selections spells (`net.IP`), with
/// its first part; `None` for anything else.
pub(crate) fn qualified_name(e: &cel::parser::Expression) -> Option<(&str, String)> {
    use cel::common::ast::Expr;
    let mut parts = Vec::new();
    let mut at = e;
    while let Expr::Select(s) = &at.expr {
        if s.test {
            return None;
        }
        parts.push(s.field.as_str());
        at = &s.operand;
    }
    let Expr::Ident(root) = &at.expr else {
        return None;
    };
    parts.push(root);
    parts.reverse();
    Some((root.as_str(), parts.join(".")))
}

/// Whether `name` is a standard namespace (`math`, `strings`, ...).
pub(crate) fn is_namespace(name: &str) -> bool {
    STANDARD_NAMESPACES.contains(&name)
}

/// Whether `name` is produced by the parser (operators `_+_`, `@in`, macro internals)
/// rather than written by the author.
fn internal(name: &str) -> bool {
    name.chars()
        .any(|c| !c.is_alphanumeric() && c != '_' && c != '.')
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn counts(a: &[usize]) -> String {
    a.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks a call of `name` (qualified, as `math.abs`, for a namespaced one) with `args`
/// arguments, as a member call when `member`; `Err` says what is wrong.
pub(crate) fn check_call(name: &str, member: bool, args: usize) -> Result<(), String> {
    if internal(name) {
        return Ok(());
    }
    if let Some((_, n)) = LUMENFLOW_ARITY.iter().find(|(f, _)| *f == name) {
        if member || args != *n {
            return Err(format!(
                "`{name}` takes {n} argument{}, not {args}",
                plural(*n)
            ));
        }
        return Ok(());
    }
    let want = if member { Member } else { Global };
    let network = super::network::GLOBAL
        .iter()
        .map(|(f, n)| (*f, Global, std::slice::from_ref(n)))
        .chain(
            super::network::MEMBER
                .iter()
                .map(|(f, n)| (*f, Member, std::slice::from_ref(n))),
        );
    let same: Vec<_> = STANDARD
        .iter()
        .copied()
        .chain(network)
        .filter(|(f, _, _)| *f == name)
        .collect();
    if let Some((_, _, a)) = same.iter().find(|(_, s, _)| *s == want) {
        if a.contains(&args) {
            return Ok(());
        }
        return Err(format!(
            "`{name}` takes {} argument{}{}, not {args}",
            counts(a),
            plural(*a.last().unwrap_or(&0)),
            if member { " after its receiver" } else { "" }
        ));
    }
    if let Some((_, s, _)) = same.first() {
        return Err(match s {
            Member => {
                format!("`{name}` is called on a value (`x.{name}(...)`), not as `{name}(...)`")
            }
            Global => format!("`{name}` is called as `{name}(...)`, not on a value"),
        });
    }
    Err(format!(
        "unknown function `{name}` (spec/cel.md lists the functions rules can call)"
    ))
}
