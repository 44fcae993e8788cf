//! Entry points for running CEL's conformance suite (`tests/cel_spec.rs`) through the
//! policy engine: the same load-time check as a rule's `when`, then evaluation by the
//! native evaluator and by the `cel` fallback, with the suite's bindings as variables.
//!
//! Not a stable API: it exists so the suite can be run from outside the crate.

use crate::action::{Action, Context};
use crate::policy::eval;
use std::sync::{Arc, OnceLock};

/// A CEL value, as the suite states expected results.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// A bool.
    Bool(bool),
    /// An `int`.
    Int(i64),
    /// A `uint`.
    Uint(u64),
    /// A `double`.
    Double(f64),
    /// A `string`.
    String(String),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Value>),
    /// A map, as (key, value) pairs in no particular order.
    Map(Vec<(Value, Value)>),
    /// A type value, by name (`int`, `list`, ...).
    Type(String),
    /// A value the suite's format does not state (timestamps, durations, ...), described.
    Other(String),
}

/// What the engine made of one expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The load-time check rejected it: (line, column, message) inside the expression.
    Rejected(Vec<(u64, u64, String)>),
    /// It evaluated to a value.
    Value(Value),
    /// Evaluation failed with this message.
    Error(String),
}

/// Checks `src` as a rule condition that may also read the variables `vars`, its names
/// resolved in `container` (empty for none).
pub fn check(src: &str, vars: &[&str], container: &str) -> Result<(), Vec<(u64, u64, String)>> {
    crate::policy::file::checked_program_in(src, vars, container).map(|_| ())
}

fn root() -> &'static cel::Context<'static, 'static> {
    static ROOT: OnceLock<cel::Context<'static, 'static>> = OnceLock::new();
    ROOT.get_or_init(crate::policy::functions::root_context)
}

/// A root context whose names resolve in `container` (rules have none; some of the
/// suite's tests do).
fn root_in(container: &str) -> Result<cel::Context<'static, 'static>, String> {
    let mut env = crate::policy::cel_ext::build_env();
    env.set_container(container).map_err(|e| e.to_string())?;
    Ok(crate::policy::functions::root_context_with(Arc::new(env)))
}

/// Runs `f` in a context holding the test's `bindings`, its names resolved in
/// `container`. With a container the bindings are global (in the root scope, where an
/// absolute name `.y` is looked up); without, they are in a scope of the shared root.
fn with_bindings(
    container: &str,
    bindings: &[(String, Value)],
    f: impl FnOnce(&cel::Context<'_, 'static>) -> Outcome,
) -> Outcome {
    if container.is_empty() {
        let mut ctx = root().new_inner_scope();
        for (name, v) in bindings {
            ctx.add_variable_from_value(name.clone(), to_cel(v));
        }
        return f(&ctx);
    }
    match root_in(container) {
        Ok(mut r) => {
            for (name, v) in bindings {
                r.add_variable_from_value(name.clone(), to_cel(v));
            }
            f(&r)
        }
        Err(e) => Outcome::Error(e),
    }
}

/// Checks `src`, then evaluates it with the `cel` fallback interpreter, its names
/// resolved in `container` (empty for none).
pub fn fallback(src: &str, bindings: &[(String, Value)], container: &str) -> Outcome {
    let names: Vec<&str> = bindings.iter().map(|(n, _)| n.as_str()).collect();
    let expr = match crate::policy::file::checked_program_in(src, &names, container) {
        Ok(e) => e,
        Err(errs) => return Outcome::Rejected(errs),
    };
    let run = || {
        with_bindings(container, bindings, |ctx| {
            result(cel::Value::resolve_val(&expr, ctx))
        })
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Outcome::Error("evaluation panicked".into()))
}

/// Evaluates `src` with the `cel` crate alone: its parser and interpreter, with
/// LumenFlow's functions but without LumenFlow's load-time check (for comparison).
pub fn cel_crate(src: &str, bindings: &[(String, Value)], container: &str) -> Outcome {
    let run = || {
        let program = match crate::policy::cel_ext::compile(src) {
            Ok(p) => p,
            Err(e) => return Outcome::Rejected(vec![(1, 1, e.to_string())]),
        };
        with_bindings(container, bindings, |ctx| {
            result(cel::Value::resolve_val(&program.expr, ctx))
        })
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Outcome::Error("evaluation panicked".into()))
}

/// The `cel` crate as it comes: its standard library and its own extensions (strings,
/// math, lists, encoders), none of LumenFlow's additions (no `cel.bind`/`cel.block`,
/// two-variable macros, network extension, backticks or LumenFlow functions), for the
/// crate's own figure.
fn stock_env() -> cel::Env {
    let mut env = cel::Env::stdlib();
    for ext in [
        cel::extensions::strings as fn(&mut cel::Env) -> _,
        cel::extensions::math,
        cel::extensions::lists,
        cel::extensions::encoders,
    ] {
        env.add_extension(ext)
            .expect("the crate's extensions register");
    }
    env
}

/// Evaluates `src` with the stock `cel` crate ([`stock_env`]), for comparison.
pub fn cel_crate_stock(src: &str, bindings: &[(String, Value)], container: &str) -> Outcome {
    let run = || {
        let mut env = stock_env();
        if let Err(e) = env.set_container(container) {
            return Outcome::Error(e.to_string());
        }
        let program = match env.compile(src) {
            Ok(p) => p,
            Err(e) => return Outcome::Rejected(vec![(1, 1, e.to_string())]),
        };
        let mut root = cel::Context::with_env(Arc::new(env));
        for (name, v) in bindings {
            root.add_variable_from_value(name.clone(), to_cel(v));
        }
        result(cel::Value::resolve_val(program.expression(), &root))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Outcome::Error("evaluation panicked".into()))
}

/// Checks `src`, then evaluates it natively; `None` when the native compiler does not
/// cover the expression or a binding (the fallback then runs it in a policy), or the
/// test needs names the native evaluator never sees in a rule: a container, or a
/// qualified variable name.
pub fn native(src: &str, bindings: &[(String, Value)], container: &str) -> Option<Outcome> {
    let names: Vec<&str> = bindings.iter().map(|(n, _)| n.as_str()).collect();
    let expr = match crate::policy::file::checked_program_in(src, &names, container) {
        Ok(e) => e,
        Err(errs) => return Some(Outcome::Rejected(errs)),
    };
    if !container.is_empty() || names.iter().any(|n| n.contains('.')) {
        return None;
    }
    let mut ctx = serde_json::Map::new();
    for (name, v) in bindings {
        ctx.insert(name.clone(), to_json(v)?);
    }
    let program = eval::compile_with(&expr, !bindings.is_empty())?;
    let context = Context::from_value(serde_json::Value::Object(ctx)).ok()?;
    let action = Action::new("conformance", serde_json::Value::Null).ok()?;
    let arenas = eval::Arenas::default();
    let scope = eval::Scope::new(&action, &context, &arenas);
    let run = || match program.evaluate_value(&scope) {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error(e),
    };
    Some(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .unwrap_or_else(|_| Outcome::Error("evaluation panicked".into())),
    )
}

/// What the `cel` interpreter answered, as an [`Outcome`].
fn result(r: Result<cel::common::value::CowVal<'_, '_>, cel::ExecutionError>) -> Outcome {
    match r
        .map_err(|e| e.to_string())
        .and_then(|v| from_val(v.as_ref()))
    {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error(e),
    }
}

/// An interpreter value as a [`Value`], type values included (the `cel` crate's own
/// conversion to `cel::Value` turns them into strings).
fn from_val(v: &dyn cel::common::value::Val) -> Result<Value, String> {
    use cel::common::types::{CelList, CelMap, CelType, Kind};
    if let Some(t) = v.downcast_ref::<CelType>() {
        return Ok(Value::Type(t.name().to_owned()));
    }
    match v.get_type().kind() {
        Kind::List => {
            if let Some(l) = v.downcast_ref::<CelList>() {
                return l
                    .inner()
                    .iter()
                    .map(|x| from_val(x.as_ref()))
                    .collect::<Result<_, _>>()
                    .map(Value::List);
            }
        }
        Kind::Map => {
            if let Some(m) = v.downcast_ref::<CelMap>() {
                return m
                    .inner()
                    .iter()
                    .map(|(k, x)| Ok((from_val(k.inner())?, from_val(x.as_ref())?)))
                    .collect::<Result<_, String>>()
                    .map(Value::Map);
            }
        }
        _ => {}
    }
    cel::Value::try_from(v)
        .map(|v| from_cel(&v))
        .map_err(|e| e.to_string())
}

/// A binding as the JSON the native evaluator reads, when JSON states it exactly.
fn to_json(v: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Double(d) => J::Number(serde_json::Number::from_f64(*d)?),
        Value::String(s) => J::String(s.clone()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect::<Option<_>>()?),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| match k {
                    Value::String(k) => Some((k.clone(), to_json(v)?)),
                    _ => None,
                })
                .collect::<Option<_>>()?,
        ),
        Value::Uint(_) | Value::Bytes(_) | Value::Type(_) | Value::Other(_) => return None,
    })
}

fn to_cel(v: &Value) -> cel::Value {
    use cel::objects::Key;
    match v {
        Value::Null | Value::Type(_) | Value::Other(_) => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Int(i) => cel::Value::Int(*i),
        Value::Uint(u) => cel::Value::UInt(*u),
        Value::Double(d) => cel::Value::Float(*d),
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Bytes(b) => cel::Value::Bytes(Arc::new(b.clone())),
        Value::List(l) => cel::Value::List(Arc::new(l.iter().map(to_cel).collect())),
        Value::Map(m) => {
            let mut map = std::collections::HashMap::new();
            for (k, v) in m {
                let key = match k {
                    Value::Int(i) => Key::Int(*i),
                    Value::Uint(u) => Key::Uint(*u),
                    Value::Bool(b) => Key::Bool(*b),
                    Value::String(s) => Key::String(Arc::new(s.clone())),
                    _ => continue,
                };
                map.insert(key, to_cel(v));
            }
            cel::Value::Map(cel::objects::Map { map: Arc::new(map) })
        }
    }
}

fn from_cel(v: &cel::Value) -> Value {
    use cel::objects::Key;
    match v {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => Value::Bool(*b),
        cel::Value::Int(i) => Value::Int(*i),
        cel::Value::UInt(u) => Value::Uint(*u),
        cel::Value::Float(f) => Value::Double(*f),
        cel::Value::String(s) => Value::String(s.to_string()),
        cel::Value::Bytes(b) => Value::Bytes(b.to_vec()),
        cel::Value::List(l) => Value::List(l.iter().map(from_cel).collect()),
        cel::Value::Map(m) => Value::Map(
            m.map
                .iter()
                .map(|(k, v)| {
                    let k = match k {
                        Key::Int(i) => Value::Int(*i),
                        Key::Uint(u) => Value::Uint(*u),
                        Key::Bool(b) => Value::Bool(*b),
                        Key::String(s) => Value::String(s.to_string()),
                    };
                    (k, from_cel(v))
                })
                .collect(),
        ),
        other => Value::Other(format!("{other:?}")),
    }
}
