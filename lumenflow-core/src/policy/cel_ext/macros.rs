//! Macros beyond the `cel` crate's own: `cel.bind(name, init, expr)`,
//! `cel.block([e0, e1, ...], expr)` with `cel.index(i)`, and the two-variable
//! comprehensions (`all(i, v, p)`, `exists(i, v, p)`, `existsOne(i, v, p)`,
//! `transformList`, `transformMap`, `transformMapEntry`), expanded at parse time into
//! the one-variable comprehensions both evaluators already run.
//!
//! A two-variable comprehension over `t` is expanded as
//! `bind(@target, t, <comprehension of i over @iter2(@target)>)`, its body wrapped in
//! `bind(v, @target[i], body)`: `@iter2` gives a list's indices and a map itself (whose
//! iteration yields its keys), so `i` is the index or key and `v` the element or value,
//! as cel-go defines them. Names starting with `@` cannot be written in CEL source, so
//! nothing an author writes can reach or shadow them.

use cel::common::ast::{
    CallExpr, ComprehensionExpr, Expr, IdedExpr, ListExpr, LiteralValue, MapExpr,
};
use cel::parser::{Macro, MacroExprHelper, ParseError};

/// The internal function a two-variable comprehension iterates over (see the module doc).
pub(crate) const ITER2: &str = "@iter2";
/// `@mapInsert(m, k, v)`: `m` with `k` mapped to `v` (`transformMap`'s step).
pub(crate) const MAP_INSERT: &str = "@mapInsert";
/// `@mapMerge(m, e)`: `m` with the entries of map `e` (`transformMapEntry`'s step).
pub(crate) const MAP_MERGE: &str = "@mapMerge";
/// The variable holding a two-variable comprehension's target.
const TARGET: &str = "@target";
/// The accumulator, as the standard macros name it.
const RESULT: &str = "@result";

fn on_cel(target: &Option<IdedExpr>) -> bool {
    matches!(target, Some(IdedExpr { expr: Expr::Ident(n), .. }) if n == "cel")
}

/// `[].all(...)`-shaped comprehension that binds `var` to `init` once and yields `body`.
fn bind(h: &mut MacroExprHelper<'_>, var: String, init: IdedExpr, body: IdedExpr) -> IdedExpr {
    let range = h.next_expr(Expr::List(ListExpr {
        elements: Vec::new(),
        optional_indices: Vec::new(),
    }));
    let cond = h.next_expr(Expr::Literal(LiteralValue::Boolean(false.into())));
    let step = h.next_expr(Expr::Ident(var.clone()));
    h.next_expr(Expr::Comprehension(Box::new(ComprehensionExpr {
        iter_range: range,
        iter_var: "#unused".into(),
        iter_var2: None,
        accu_var: var,
        accu_init: init,
        loop_cond: cond,
        loop_step: step,
        result: body,
    })))
}

/// The name `cel.index(i)` stands for.
fn index_name(i: i64) -> String {
    format!("@index{i}")
}

/// `cel.iterVar(i, j)` / `cel.accuVar(i, j)`: the names `cel.block` gives macro variables.
fn var_macro(
    h: &mut MacroExprHelper<'_>,
    target: &mut Option<IdedExpr>,
    args: &mut [IdedExpr],
    kind: &str,
) -> Result<Option<IdedExpr>, ParseError> {
    if !on_cel(target) {
        return Ok(None);
    }
    let int = |e: &IdedExpr| match &e.expr {
        Expr::Literal(LiteralValue::Int(i)) if *i.inner() >= 0 => Some(*i.inner()),
        _ => None,
    };
    match (int(&args[0]), int(&args[1])) {
        (Some(i), Some(j)) => Ok(Some(h.next_expr(Expr::Ident(format!("@{kind}:{i}:{j}"))))),
        _ => Err(h.new_error(
            args[0].id,
            format!("cel.{kind}Var: the arguments must be non-negative int literals"),
        )),
    }
}

/// The kinds of two-variable comprehension.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Two {
    All,
    Exists,
    ExistsOne,
    TransformList,
    TransformMap,
    TransformMapEntry,
}

fn call(h: &mut MacroExprHelper<'_>, name: &str, args: Vec<IdedExpr>) -> IdedExpr {
    h.next_expr(Expr::Call(CallExpr {
        func_name: name.to_owned(),
        target: None,
        args,
    }))
}

fn ident(h: &mut MacroExprHelper<'_>, name: &str) -> IdedExpr {
    h.next_expr(Expr::Ident(name.to_owned()))
}

fn boolean(h: &mut MacroExprHelper<'_>, b: bool) -> IdedExpr {
    h.next_expr(Expr::Literal(LiteralValue::Boolean(b.into())))
}

fn int(h: &mut MacroExprHelper<'_>, i: i64) -> IdedExpr {
    h.next_expr(Expr::Literal(LiteralValue::Int(i.into())))
}

fn list(h: &mut MacroExprHelper<'_>, elements: Vec<IdedExpr>) -> IdedExpr {
    h.next_expr(Expr::List(ListExpr::new(elements)))
}

/// Expands `target.<kind>(i, v, [filter,] body)` (see the module doc).
fn two_var(
    h: &mut MacroExprHelper<'_>,
    kind: Two,
    target: &mut Option<IdedExpr>,
    args: &mut Vec<IdedExpr>,
) -> Result<Option<IdedExpr>, ParseError> {
    let Some(range) = target.take() else {
        return Ok(None);
    };
    let name = |h: &mut MacroExprHelper<'_>, e: &IdedExpr| match &e.expr {
        Expr::Ident(n) => Ok(n.clone()),
        _ => Err(h.new_error(e.id, "argument must be a simple name")),
    };
    let (i, v) = (name(h, &args[0])?, name(h, &args[1])?);
    if i == v {
        return Err(h.new_error(
            args[1].id,
            format!("duplicate variable name `{v}`: the two variables must differ"),
        ));
    }
    let body = args.pop().expect("at least 3 arguments");
    let filter = (args.len() == 3).then(|| args.pop().expect("4 arguments"));
    // The element (or value) `v` is bound to, at index (or key) `i`.
    let element = |h: &mut MacroExprHelper<'_>| {
        let t = ident(h, TARGET);
        let k = ident(h, &i);
        call(h, "_[_]", vec![t, k])
    };
    let guarded = |h: &mut MacroExprHelper<'_>, yes: IdedExpr, no: IdedExpr| match filter {
        Some(f) => call(h, "_?_:_", vec![f, yes, no]),
        None => yes,
    };
    let accu = |h: &mut MacroExprHelper<'_>| ident(h, RESULT);
    let (init, cond, step, result) = match kind {
        Two::All | Two::Exists => {
            let all = kind == Two::All;
            let init = boolean(h, all);
            let a = accu(h);
            let cond_arg = if all { a } else { call(h, "!_", vec![a]) };
            let cond = call(h, "@not_strictly_false", vec![cond_arg]);
            let e = element(h);
            let pred = bind(h, v.clone(), e, body);
            let a = accu(h);
            let step = call(h, if all { "_&&_" } else { "_||_" }, vec![a, pred]);
            (init, cond, step, accu(h))
        }
        Two::ExistsOne => {
            let init = int(h, 0);
            let cond = boolean(h, true);
            let (one, zero) = (int(h, 1), int(h, 0));
            let counted = call(h, "_?_:_", vec![body, one, zero]);
            let e = element(h);
            let counted = bind(h, v.clone(), e, counted);
            let a = accu(h);
            let step = call(h, "_+_", vec![a, counted]);
            let (a, one) = (accu(h), int(h, 1));
            (init, cond, step, call(h, "_==_", vec![a, one]))
        }
        Two::TransformList => {
            let init = list(h, Vec::new());
            let cond = boolean(h, true);
            let (yes, no) = (list(h, vec![body]), list(h, Vec::new()));
            let item = guarded(h, yes, no);
            let e = element(h);
            let item = bind(h, v.clone(), e, item);
            let a = accu(h);
            (init, cond, call(h, "_+_", vec![a, item]), accu(h))
        }
        Two::TransformMap | Two::TransformMapEntry => {
            let init = h.next_expr(Expr::Map(MapExpr {
                entries: Vec::new(),
            }));
            let cond = boolean(h, true);
            let a = accu(h);
            let yes = if kind == Two::TransformMap {
                let k = ident(h, &i);
                call(h, MAP_INSERT, vec![a, k, body])
            } else {
                call(h, MAP_MERGE, vec![a, body])
            };
            let no = accu(h);
            let step = guarded(h, yes, no);
            let e = element(h);
            (init, cond, bind(h, v.clone(), e, step), accu(h))
        }
    };
    let iter_target = ident(h, TARGET);
    let iter_range = call(h, ITER2, vec![iter_target]);
    let loop_ = h.next_expr(Expr::Comprehension(Box::new(ComprehensionExpr {
        iter_range,
        iter_var: i,
        iter_var2: None,
        accu_var: RESULT.into(),
        accu_init: init,
        loop_cond: cond,
        loop_step: step,
        result,
    })));
    Ok(Some(bind(h, TARGET.into(), range, loop_)))
}

/// `cel.bind`, `cel.block`, `cel.index`, `cel.iterVar`, `cel.accuVar` and the
/// two-variable comprehensions.
pub(crate) fn all() -> Vec<Macro> {
    let mut out = Vec::new();
    for (name, kind, arities) in [
        ("all", Two::All, &[3][..]),
        ("exists", Two::Exists, &[3]),
        ("existsOne", Two::ExistsOne, &[3]),
        ("transformList", Two::TransformList, &[3, 4]),
        ("transformMap", Two::TransformMap, &[3, 4]),
        ("transformMapEntry", Two::TransformMapEntry, &[3, 4]),
    ] {
        for &n in arities {
            out.push(Macro::receiver(name, n, move |h, target, args| {
                two_var(h, kind, target, args)
            }));
        }
    }
    out.extend(base());
    out
}

fn base() -> Vec<Macro> {
    vec![
        Macro::receiver("bind", 3, |h, target, args| {
            if !on_cel(target) {
                return Ok(None);
            }
            let name = match &args[0].expr {
                Expr::Ident(n) => n.clone(),
                _ => {
                    return Err(h.new_error(
                        args[0].id,
                        "cel.bind: the first argument must be a simple name",
                    ))
                }
            };
            let body = args.pop().expect("3 arguments");
            let init = args.pop().expect("3 arguments");
            Ok(Some(bind(h, name, init, body)))
        }),
        Macro::receiver("index", 1, |h, target, args| {
            if !on_cel(target) {
                return Ok(None);
            }
            match &args[0].expr {
                Expr::Literal(LiteralValue::Int(i)) if *i.inner() >= 0 => {
                    Ok(Some(h.next_expr(Expr::Ident(index_name(*i.inner())))))
                }
                _ => Err(h.new_error(
                    args[0].id,
                    "cel.index: the argument must be a non-negative int literal",
                )),
            }
        }),
        Macro::receiver("iterVar", 2, |h, target, args| {
            var_macro(h, target, args, "it")
        }),
        Macro::receiver("accuVar", 2, |h, target, args| {
            var_macro(h, target, args, "ac")
        }),
        Macro::receiver("block", 2, |h, target, args| {
            if !on_cel(target) {
                return Ok(None);
            }
            if !matches!(args[0].expr, Expr::List(_)) {
                return Err(h.new_error(
                    args[0].id,
                    "cel.block: the first argument must be a list literal",
                ));
            }
            let body = args.pop().expect("2 arguments");
            let Some(IdedExpr {
                expr: Expr::List(list),
                ..
            }) = args.pop()
            else {
                unreachable!("checked above")
            };
            if !list.optional_indices.is_empty() {
                return Err(h.new_error(body.id, "cel.block: optional entries are not allowed"));
            }
            // cel.block([a, b], e) == bind(@index0, a, bind(@index1, b, e)).
            let mut out = body;
            for (i, e) in list.elements.into_iter().enumerate().rev() {
                out = bind(h, index_name(i as i64), e, out);
            }
            Ok(Some(out))
        }),
    ]
}

// ---------------------------------------------------------------------------------
// The internal functions the two-variable comprehensions call, for the `cel` fallback
// (the native evaluator has its own).

use cel::common::types::{CelInt, CelList, CelMap, CelMapKey, Kind, DYN_TYPE};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;

type Out<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;

/// `@iter2(t)`: a list's indices, or the map itself (iterating a map yields its keys).
fn iter2<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let t = args
        .pop()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, 0))?;
    match t.as_ref().get_type().kind() {
        Kind::Map => Ok(t),
        Kind::List => {
            let list = t
                .as_ref()
                .downcast_ref::<CelList>()
                .ok_or_else(|| ExecutionError::function_error(ITER2, "not a list"))?;
            let n = list.inner().len() as i64;
            Ok(CowVal::owned(CelList::from(
                (0..n)
                    .map(|i| Box::new(CelInt::from(i)) as Box<dyn Val + 'v>)
                    .collect::<Vec<_>>(),
            )))
        }
        _ => Err(ExecutionError::function_error(
            "comprehension",
            format!(
                "cannot iterate over a {} (a list or a map is needed)",
                t.as_ref().get_type().name()
            ),
        )),
    }
}

/// The entries of the map `m`, copied.
fn entries<'v>(
    f: &str,
    m: &(dyn Val + 'v),
) -> Result<std::collections::HashMap<CelMapKey<'v>, Box<dyn Val + 'v>>, ExecutionError> {
    m.downcast_ref::<CelMap>()
        .map(|m| m.inner().clone())
        .ok_or_else(|| {
            ExecutionError::function_error(f, format!("not a map: {}", m.get_type().name()))
        })
}

/// `@mapInsert(m, k, v)`: `m` with `k` mapped to `v`.
fn map_insert<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [m, k, v]: [CowVal<'b, 'v>; 3] = args
        .try_into()
        .map_err(|a: Vec<_>| ExecutionError::invalid_argument_count(3, a.len()))?;
    let mut out = entries(MAP_INSERT, m.as_ref())?;
    let key: CelMapKey<'v> = k.try_into()?;
    if out.contains_key(&key) {
        return Err(ExecutionError::function_error(
            "transformMap",
            "duplicate key in the result",
        ));
    }
    out.insert(key, v.into_owned());
    Ok(CowVal::owned(CelMap::from(out)))
}

/// `@mapMerge(m, e)`: `m` with the entries of the map `e`; a key already in `m` is an
/// error, as in cel-go.
fn map_merge<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [m, e]: [CowVal<'b, 'v>; 2] = args
        .try_into()
        .map_err(|a: Vec<_>| ExecutionError::invalid_argument_count(2, a.len()))?;
    let mut out = entries(MAP_MERGE, m.as_ref())?;
    for (k, v) in entries("transformMapEntry", e.as_ref())? {
        if out.contains_key(&k) {
            return Err(ExecutionError::function_error(
                "transformMapEntry",
                "duplicate key in the result",
            ));
        }
        out.insert(k, v);
    }
    Ok(CowVal::owned(CelMap::from(out)))
}

/// Adds `@iter2`, `@mapInsert` and `@mapMerge` to `env`.
pub(crate) fn register(env: &mut cel::Env) -> Result<(), cel::DeclarationError> {
    env.add_overload(ITER2, "@iter2_dyn", vec![DYN_TYPE], iter2)?;
    env.add_overload(
        MAP_INSERT,
        "@mapInsert_dyn",
        vec![DYN_TYPE, DYN_TYPE, DYN_TYPE],
        map_insert,
    )?;
    env.add_overload(
        MAP_MERGE,
        "@mapMerge_dyn",
        vec![DYN_TYPE, DYN_TYPE],
        map_merge,
    )
}
