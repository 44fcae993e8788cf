//! The agent-safety functions rules can call, added to CEL's standard library.
//!
//! Each is a thin adapter from CEL values to [`shell`](crate::helpers::shell),
//! [`paths`](crate::helpers::paths), [`net`](crate::helpers::net) and [`secrets`](crate::helpers::secrets); the
//! normative list with signatures is `spec/functions.md`. A function given the wrong
//! number or types of arguments, or input it cannot parse, fails the evaluation (and the
//! rule takes its `on_error` effect) rather than answering `false`.

use crate::helpers::{net, paths, secrets, shell};
use cel::common::types::{CelList, CelString};
use cel::common::value::Val;
use cel::objects::{Key, Map};
use cel::{ExecutionError, FunctionContext, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The names of every function LumenFlow adds, for load-time checks and the docs.
pub const FUNCTIONS: &[&str] = &[
    "shell.commands",
    "shell.programs",
    "shell.invokes",
    "shell.writes",
    "shell.reads",
    "shell.dynamic",
    "shell.opaque",
    "path.normalize",
    "path.fold",
    "path.within",
    "path.matches",
    "path.base",
    "path.ext",
    "url.parse",
    "url.host",
    "url.scheme",
    "host.matches",
    "secrets.contains",
    "secrets.kinds",
];

/// The namespaces of [`FUNCTIONS`]; an identifier with one of these names may only be
/// used to call a function.
pub const NAMESPACES: &[&str] = &["shell", "path", "url", "host", "secrets"];

type Res = Result<Value, ExecutionError>;

/// A root CEL context with the standard library and LumenFlow's functions.
pub(crate) fn root_context() -> cel::Context<'static, 'static> {
    root_context_with(crate::policy::cel_ext::env())
}

/// [`root_context`] over the environment `env`.
pub(crate) fn root_context_with(env: Arc<cel::Env>) -> cel::Context<'static, 'static> {
    let mut ctx = cel::Context::with_env(env);
    let add =
        |ctx: &mut cel::Context<'static, 'static>, name: &str, f: fn(&FunctionContext) -> Res| {
            ctx.add_function(name, move |ftx: &FunctionContext| f(ftx))
                .expect("LumenFlow function names do not clash with CEL's");
        };
    crate::policy::cel_ext::network::register(&mut ctx);
    add(&mut ctx, "shell.commands", shell_commands);
    add(&mut ctx, "shell.programs", shell_programs);
    add(&mut ctx, "shell.invokes", shell_invokes);
    add(&mut ctx, "shell.writes", shell_writes);
    add(&mut ctx, "shell.reads", |f| {
        arity(f, 1)?;
        let p = parsed(f)?;
        Ok(strs(&p.reads))
    });
    add(&mut ctx, "shell.dynamic", |f| {
        arity(f, 1)?;
        Ok(Value::Bool(parsed(f)?.dynamic))
    });
    add(&mut ctx, "shell.opaque", |f| {
        arity(f, 1)?;
        Ok(Value::Bool(parsed(f)?.opaque))
    });
    add(&mut ctx, "path.fold", |f| {
        arity(f, 1)?;
        Ok(string(paths::fold(str_arg(f, 0)?).map_err(|e| f.error(e))?))
    });
    add(&mut ctx, "path.normalize", |f| {
        arity(f, 1)?;
        Ok(string(paths::normalize(str_arg(f, 0)?)))
    });
    add(&mut ctx, "path.within", |f| {
        arity(f, 2)?;
        Ok(Value::Bool(paths::within(str_arg(f, 0)?, str_arg(f, 1)?)))
    });
    add(&mut ctx, "path.matches", |f| {
        arity(f, 2)?;
        let p = str_arg(f, 0)?;
        for pattern in str_or_list(f, 1)? {
            if paths::matches(p, &pattern).map_err(|e| f.error(e))? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    add(&mut ctx, "path.base", |f| {
        arity(f, 1)?;
        Ok(string(paths::base_name(str_arg(f, 0)?)))
    });
    add(&mut ctx, "path.ext", |f| {
        arity(f, 1)?;
        Ok(string(paths::extension(str_arg(f, 0)?)))
    });
    add(&mut ctx, "url.parse", |f| {
        arity(f, 1)?;
        let u = net::parse_url(str_arg(f, 0)?).map_err(|e| f.error(e))?;
        Ok(map(vec![
            ("scheme", string(u.scheme)),
            ("host", string(u.host)),
            ("port", Value::Int(i64::from(u.port))),
            ("path", string(u.path)),
            ("query", string(u.query)),
        ]))
    });
    add(&mut ctx, "url.host", |f| {
        arity(f, 1)?;
        Ok(string(
            net::parse_url(str_arg(f, 0)?).map_err(|e| f.error(e))?.host,
        ))
    });
    add(&mut ctx, "url.scheme", |f| {
        arity(f, 1)?;
        Ok(string(
            net::parse_url(str_arg(f, 0)?)
                .map_err(|e| f.error(e))?
                .scheme,
        ))
    });
    add(&mut ctx, "host.matches", |f| {
        arity(f, 2)?;
        let h = str_arg(f, 0)?;
        Ok(Value::Bool(
            str_or_list(f, 1)?.iter().any(|p| net::host_matches(h, p)),
        ))
    });
    add(&mut ctx, "secrets.contains", |f| {
        arity(f, 1)?;
        Ok(Value::Bool(!secret_kinds(f)?.is_empty()))
    });
    add(&mut ctx, "secrets.kinds", |f| {
        arity(f, 1)?;
        let mut kinds = secret_kinds(f)?;
        kinds.sort_unstable();
        kinds.dedup();
        Ok(Value::List(Arc::new(
            kinds.into_iter().map(|k| string(k.to_owned())).collect(),
        )))
    });
    ctx
}

fn arity(f: &FunctionContext, n: usize) -> Result<(), ExecutionError> {
    let got = f.args.len() + usize::from(f.this.is_some());
    if got == n {
        Ok(())
    } else {
        Err(f.error(format!("takes {n} argument(s), got {got}")))
    }
}

pub(crate) fn arg<'a>(f: &'a FunctionContext, i: usize) -> Result<&'a dyn Val, ExecutionError> {
    // Called as a method (`x.f(y)`), the receiver is the first argument.
    let v = match (&f.this, i) {
        (Some(this), 0) => this,
        (Some(_), i) => f
            .args
            .get(i - 1)
            .ok_or_else(|| f.error("missing argument"))?,
        (None, i) => f.args.get(i).ok_or_else(|| f.error("missing argument"))?,
    };
    Ok(&**v)
}

fn str_arg<'a>(f: &'a FunctionContext, i: usize) -> Result<&'a str, ExecutionError> {
    let v = arg(f, i)?;
    v.downcast_ref::<CelString>()
        .map(|s| s.inner())
        .ok_or_else(|| {
            f.error(format!(
                "argument {} must be a string, not {}",
                i + 1,
                v.get_type().name()
            ))
        })
}

/// A string argument, or a list of strings.
fn str_or_list(f: &FunctionContext, i: usize) -> Result<Vec<String>, ExecutionError> {
    let v = arg(f, i)?;
    if let Some(s) = v.downcast_ref::<CelString>() {
        return Ok(vec![s.inner().to_owned()]);
    }
    if v.downcast_ref::<CelList>().is_some() {
        if let Ok(Value::List(items)) = Value::try_from(v) {
            return items
                .iter()
                .map(|x| match x {
                    Value::String(s) => Ok(s.to_string()),
                    _ => Err(f.error(format!("argument {} must hold only strings", i + 1))),
                })
                .collect();
        }
    }
    Err(f.error(format!(
        "argument {} must be a string or a list of strings, not {}",
        i + 1,
        v.get_type().name()
    )))
}

fn string(s: impl Into<String>) -> Value {
    Value::String(Arc::new(s.into()))
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let m: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.to_owned())), v))
        .collect();
    Value::Map(Map { map: Arc::new(m) })
}

fn parsed(f: &FunctionContext) -> Result<Arc<shell::Parsed>, ExecutionError> {
    shell::parse_cached(str_arg(f, 0)?).map_err(|e| f.error(e))
}

fn shell_commands(f: &FunctionContext) -> Res {
    arity(f, 1)?;
    let p = parsed(f)?;
    Ok(Value::List(Arc::new(
        p.commands
            .iter()
            .map(|c| {
                map(shell::COMMAND_FIELDS
                    .iter()
                    .filter_map(|k| {
                        let v = match c.field(k)? {
                            shell::Field::Str(s) => string(s),
                            shell::Field::Strs(l) => strs(l),
                            shell::Field::Bool(b) => Value::Bool(b),
                        };
                        Some((*k, v))
                    })
                    .collect())
            })
            .collect(),
    )))
}

fn shell_programs(f: &FunctionContext) -> Res {
    arity(f, 1)?;
    let p = parsed(f)?;
    Ok(Value::List(Arc::new(
        p.commands.iter().map(|c| string(c.name.clone())).collect(),
    )))
}

fn shell_invokes(f: &FunctionContext) -> Res {
    arity(f, 2)?;
    let patterns = str_or_list(f, 1)?;
    let p = parsed(f)?;
    for pat in patterns {
        let pat = shell::Pattern::new(&pat).map_err(|e| f.error(e))?;
        if p.invokes(&pat) {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn shell_writes(f: &FunctionContext) -> Res {
    arity(f, 1)?;
    let p = parsed(f)?;
    Ok(strs(&p.writes))
}

fn strs(l: &[String]) -> Value {
    Value::List(Arc::new(l.iter().map(|w| string(w.clone())).collect()))
}

fn secret_kinds(f: &FunctionContext) -> Result<Vec<&'static str>, ExecutionError> {
    let v = arg(f, 0)?;
    if let Some(s) = v.downcast_ref::<CelString>() {
        return Ok(secrets::find(s.inner())
            .into_iter()
            .map(|x| x.kind)
            .collect());
    }
    let json = crate::policy::cel_value::to_json(&Value::try_from(v)?);
    Ok(secrets::find_in_json(&json)
        .into_iter()
        .map(|x| x.kind)
        .collect())
}
