//! Macros beyond the `cel` crate's own: `cel.bind(name, init, expr)` and
//! `cel.block([e0, e1, ...], expr)` with `cel.index(i)`, expanded at parse time into
//! the comprehensions both evaluators already run (as cel-go expands them).

use cel::common::ast::{ComprehensionExpr, Expr, IdedExpr, ListExpr, LiteralValue};
use cel::parser::{Macro, MacroExprHelper, ParseError};

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

/// `cel.bind`, `cel.block`, `cel.index`, `cel.iterVar` and `cel.accuVar`.
pub(crate) fn all() -> Vec<Macro> {
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
