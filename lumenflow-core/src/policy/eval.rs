//! Native evaluation of rule conditions.
//!
//! At load, each condition's CEL syntax tree (parsed by the `cel` crate) is compiled
//! into a tree of [`Node`]s that reads the action and context in place, with the
//! arguments of LumenFlow's helpers precompiled where they are literals (glob sets,
//! host lists, shell patterns, regular expressions). It covers the CEL that rules are
//! written in: literals, `action`/`context` fields, `has()`, indexing, comparison,
//! arithmetic, `in`, `&&`/`||`/`!`/`?:` with CEL's error-absorbing logic, the
//! comprehension macros (`exists`, `all`, `exists_one`, `map`, `filter`), `size`,
//! string methods, `timestamp()`, and every LumenFlow function. A condition using
//! anything else is evaluated by the `cel` interpreter instead, so coverage is a matter
//! of speed, never of meaning; `tests/eval_differential.rs` checks that both agree.

use crate::action::{Action, Context};
use crate::helpers::{net, paths, secrets, shell};
use cel::common::ast::{CallExpr, Expr, LiteralValue};
use cel::parser::Expression;
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// A compiled condition.
#[derive(Debug)]
pub(crate) struct Program {
    root: Node,
    slots: usize,
}

#[derive(Debug)]
enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Box<str>),
    List(Vec<Lit>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActionField {
    Tool,
    Args,
    Session,
    Run,
    Metadata,
    Cost,
    Tokens,
}

#[derive(Debug, Clone, Copy)]
enum ActorField {
    Id,
    Roles,
    Kind,
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug)]
enum Func {
    Size,
    StartsWith,
    EndsWith,
    Contains,
    Matches(Option<regex::Regex>),
    Timestamp,
    /// `@iter2(t)`: what a two-variable comprehension iterates (a list's indices, a
    /// map's keys); see `cel_ext::macros`.
    Iter2,
    ShellCommands,
    ShellPrograms,
    ShellInvokes(Option<Vec<shell::Pattern>>),
    ShellWrites,
    ShellReads,
    ShellDynamic,
    ShellOpaque,
    PathFold,
    PathNormalize,
    PathWithin,
    PathMatches(Option<(globset::GlobSet, globset::GlobSet)>),
    PathBase,
    PathExt,
    UrlHost,
    UrlScheme,
    HostMatches(Option<Vec<String>>),
    SecretsContains,
    SecretsKinds,
}

#[derive(Debug)]
enum Node {
    Const(Lit),
    Action(ActionField),
    Actor(ActorField),
    Context,
    ContextField(Box<str>),
    HasAction(ActionField),
    HasContext(Box<str>),
    Local(usize),
    Select(Box<Node>, Box<str>),
    Has(Box<Node>, Box<str>),
    Index(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Cmp(Cmp, Box<Node>, Box<Node>),
    Arith(Arith, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    /// `x in [string literals]`: the list as a hash set (the policies' program lists hold
    /// 150 names); the literal list is kept for a left side that is not a string.
    InStrs(Box<Node>, Box<StrSet>),
    List(Vec<Node>),
    Call(Func, Vec<Node>),
    NotStrictlyFalse(Box<Node>),
    Comprehension(Box<Comprehension>),
    /// `all` / `exists` with CEL's commutative logic: a later decisive element wins
    /// over an earlier error.
    Quantifier(Box<Quantifier>),
}

/// A literal list of strings, for `in`.
#[derive(Debug)]
struct StrSet {
    set: std::collections::HashSet<Box<str>>,
    list: Lit,
}

/// Lists shorter than this are scanned (as fast as hashing for a few short strings).
const STR_SET_MIN: usize = 6;

#[derive(Debug)]
struct Quantifier {
    range: Node,
    iter: usize,
    pred: Node,
    /// `all` (else `exists`).
    all: bool,
}

#[derive(Debug)]
struct Comprehension {
    range: Node,
    iter: usize,
    accu: usize,
    init: Node,
    cond: Node,
    step: Node,
    result: Node,
    /// The shape `filter` expands to (`[]`, `true`, `pred ? accu + [x] : accu`, `accu`):
    /// evaluated over a list by collecting the elements once, not by copying the
    /// accumulated list at every step.
    filter: bool,
}

/// Whether a comprehension is `filter`'s expansion (see [`Comprehension::filter`]).
fn is_filter(
    init: &Node,
    cond: &Node,
    step: &Node,
    result: &Node,
    iter: usize,
    accu: usize,
) -> bool {
    let local = |n: &Node, s: usize| matches!(n, Node::Local(x) if *x == s);
    matches!(init, Node::Const(Lit::List(l)) if l.is_empty())
        && matches!(cond, Node::Const(Lit::Bool(true)))
        && local(result, accu)
        && match step {
            Node::Cond(_, yes, no) => {
                local(no, accu)
                    && matches!(&**yes, Node::Arith(Arith::Add, a, b)
                        if local(a, accu) && matches!(&**b, Node::List(l) if l.len() == 1 && local(&l[0], iter)))
            }
            _ => false,
        }
}

// ---------------------------------------------------------------------------------
// Compiling

/// Compiles a condition; `None` if it uses something the native evaluator does not
/// cover (it is then interpreted by `cel`).
pub(crate) fn compile(e: &Expression) -> Option<Program> {
    compile_with(e, false)
}

/// Compiles like [`compile`]; with `free_as_context`, an identifier that is not a local
/// reads the context field of that name (how the conformance suite's bindings are given).
pub(crate) fn compile_with(e: &Expression, free_as_context: bool) -> Option<Program> {
    let mut c = Compiler {
        free_as_context,
        ..Compiler::default()
    };
    let root = c.node(e)?;
    Some(Program {
        root,
        slots: c.max_slots,
    })
}

#[derive(Default)]
struct Compiler {
    scope: Vec<(String, usize)>,
    max_slots: usize,
    free_as_context: bool,
}

fn lit(l: &LiteralValue) -> Option<Lit> {
    Some(match l {
        LiteralValue::Null => Lit::Null,
        LiteralValue::Boolean(b) => Lit::Bool(*b.inner()),
        LiteralValue::Int(i) => Lit::Int(*i.inner()),
        LiteralValue::UInt(u) => Lit::Uint(*u.inner()),
        LiteralValue::Double(d) => Lit::Double(*d.inner()),
        LiteralValue::String(s) => Lit::Str(s.inner().into()),
        LiteralValue::Bytes(_) => return None,
    })
}

fn string_list(n: &Node) -> Option<Vec<String>> {
    match n {
        Node::Const(Lit::Str(s)) => Some(vec![s.to_string()]),
        Node::Const(Lit::List(items)) => items
            .iter()
            .map(|i| match i {
                Lit::Str(s) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

impl Compiler {
    fn local(&self, name: &str) -> Option<usize> {
        self.scope
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
    }

    fn unshadowed(&self, e: &Expression, name: &str) -> bool {
        matches!(&e.expr, Expr::Ident(n) if n == name) && self.local(name).is_none()
    }

    fn alloc(&mut self) -> usize {
        let slot = self.scope.len();
        self.max_slots = self.max_slots.max(slot + 1);
        slot
    }

    fn boxed(&mut self, e: &Expression) -> Option<Box<Node>> {
        self.node(e).map(Box::new)
    }

    fn node(&mut self, e: &Expression) -> Option<Node> {
        Some(match &e.expr {
            Expr::Literal(l) => Node::Const(lit(l)?),
            Expr::Ident(name) => match self.local(name) {
                Some(slot) => Node::Local(slot),
                None if name == "context" => Node::Context,
                // Type values (`int`) are left to the `cel` interpreter.
                None if crate::policy::cel_ext::known::is_type_name(name) => return None,
                None if self.free_as_context => Node::ContextField(name.as_str().into()),
                None => return None,
            },
            Expr::Select(s) => {
                if let Some((root, full)) = crate::policy::cel_ext::known::qualified_name(e) {
                    if self.local(root).is_none()
                        && crate::policy::cel_ext::known::is_type_name(&full)
                    {
                        return None;
                    }
                }
                let field = s.field.as_str();
                if self.unshadowed(&s.operand, "action") {
                    let f = action_field(field)?;
                    if s.test {
                        Node::HasAction(f)
                    } else {
                        Node::Action(f)
                    }
                } else if self.unshadowed(&s.operand, "context") {
                    if s.test {
                        Node::HasContext(field.into())
                    } else {
                        Node::ContextField(field.into())
                    }
                } else if let (Expr::Select(inner), false) = (&s.operand.expr, s.test) {
                    if inner.field == "actor"
                        && !inner.test
                        && self.unshadowed(&inner.operand, "action")
                    {
                        Node::Actor(match field {
                            "id" => ActorField::Id,
                            "roles" => ActorField::Roles,
                            "kind" => ActorField::Kind,
                            _ => return None,
                        })
                    } else {
                        Node::Select(self.boxed(&s.operand)?, field.into())
                    }
                } else if s.test {
                    Node::Has(self.boxed(&s.operand)?, field.into())
                } else {
                    Node::Select(self.boxed(&s.operand)?, field.into())
                }
            }
            Expr::Call(c) => self.call(c)?,
            Expr::List(l) => {
                if !l.optional_indices.is_empty() {
                    return None;
                }
                let items: Vec<Node> = l
                    .elements
                    .iter()
                    .map(|x| self.node(x))
                    .collect::<Option<_>>()?;
                if items.iter().all(|i| matches!(i, Node::Const(_))) {
                    Node::Const(Lit::List(
                        items
                            .into_iter()
                            .map(|i| match i {
                                Node::Const(l) => l,
                                _ => unreachable!("checked above"),
                            })
                            .collect(),
                    ))
                } else {
                    Node::List(items)
                }
            }
            Expr::Comprehension(c) => {
                if c.iter_var2.is_some() {
                    return None;
                }
                if let Some((all, pred)) = quantifier_shape(c) {
                    let range = self.node(&c.iter_range)?;
                    let iter = self.alloc();
                    self.scope.push((c.iter_var.clone(), iter));
                    let pred = self.node(pred);
                    self.scope.pop();
                    return Some(Node::Quantifier(Box::new(Quantifier {
                        range,
                        iter,
                        pred: pred?,
                        all,
                    })));
                }
                let range = self.node(&c.iter_range)?;
                let init = self.node(&c.accu_init)?;
                let accu = self.alloc();
                self.scope.push((c.accu_var.clone(), accu));
                let iter = self.alloc();
                self.scope.push((c.iter_var.clone(), iter));
                let cond = self.node(&c.loop_cond);
                let step = self.node(&c.loop_step);
                self.scope.pop();
                let result = self.node(&c.result);
                self.scope.pop();
                let (cond, step, result) = (cond?, step?, result?);
                let filter = is_filter(&init, &cond, &step, &result, iter, accu);
                Node::Comprehension(Box::new(Comprehension {
                    range,
                    iter,
                    accu,
                    init,
                    cond,
                    step,
                    result,
                    filter,
                }))
            }
            Expr::Map(_) | Expr::Struct(_) | Expr::Unspecified => return None,
        })
    }

    fn call(&mut self, c: &CallExpr) -> Option<Node> {
        let args = &c.args;
        if let Some(t) = &c.target {
            if let Expr::Ident(ns) = &t.expr {
                if crate::policy::functions::NAMESPACES.contains(&ns.as_str())
                    && self.local(ns).is_none()
                {
                    return self.helper(ns, &c.func_name, args);
                }
            }
            let recv = self.node(t)?;
            let mut all = vec![recv];
            for a in args {
                all.push(self.node(a)?);
            }
            let f = match (c.func_name.as_str(), args.len()) {
                ("size", 0) => Func::Size,
                ("startsWith", 1) => Func::StartsWith,
                ("endsWith", 1) => Func::EndsWith,
                ("contains", 1) => Func::Contains,
                ("matches", 1) => Func::Matches(match &all[1] {
                    Node::Const(Lit::Str(s)) => Some(regex::Regex::new(s).ok()?),
                    _ => None,
                }),
                _ => return None,
            };
            return Some(Node::Call(f, all));
        }
        let b = |me: &mut Self, i: usize| me.boxed(&args[i]);
        Some(match (c.func_name.as_str(), args.len()) {
            ("_&&_", 2) => Node::And(b(self, 0)?, b(self, 1)?),
            ("_||_", 2) => Node::Or(b(self, 0)?, b(self, 1)?),
            ("!_", 1) => Node::Not(b(self, 0)?),
            ("-_", 1) => Node::Neg(b(self, 0)?),
            ("_?_:_", 3) => Node::Cond(b(self, 0)?, b(self, 1)?, b(self, 2)?),
            ("_==_", 2) => Node::Cmp(Cmp::Eq, b(self, 0)?, b(self, 1)?),
            ("_!=_", 2) => Node::Cmp(Cmp::Ne, b(self, 0)?, b(self, 1)?),
            ("_<_", 2) => Node::Cmp(Cmp::Lt, b(self, 0)?, b(self, 1)?),
            ("_<=_", 2) => Node::Cmp(Cmp::Le, b(self, 0)?, b(self, 1)?),
            ("_>_", 2) => Node::Cmp(Cmp::Gt, b(self, 0)?, b(self, 1)?),
            ("_>=_", 2) => Node::Cmp(Cmp::Ge, b(self, 0)?, b(self, 1)?),
            ("_+_", 2) => Node::Arith(Arith::Add, b(self, 0)?, b(self, 1)?),
            ("_-_", 2) => Node::Arith(Arith::Sub, b(self, 0)?, b(self, 1)?),
            ("_*_", 2) => Node::Arith(Arith::Mul, b(self, 0)?, b(self, 1)?),
            ("_/_", 2) => Node::Arith(Arith::Div, b(self, 0)?, b(self, 1)?),
            ("_%_", 2) => Node::Arith(Arith::Rem, b(self, 0)?, b(self, 1)?),
            ("@in", 2) => {
                let (x, y) = (b(self, 0)?, b(self, 1)?);
                match *y {
                    Node::Const(Lit::List(items))
                        if items.len() >= STR_SET_MIN
                            && items.iter().all(|i| matches!(i, Lit::Str(_))) =>
                    {
                        let set = items
                            .iter()
                            .filter_map(|i| match i {
                                Lit::Str(s) => Some(s.clone()),
                                _ => None,
                            })
                            .collect();
                        Node::InStrs(
                            x,
                            Box::new(StrSet {
                                set,
                                list: Lit::List(items),
                            }),
                        )
                    }
                    y => Node::In(x, Box::new(y)),
                }
            }
            ("_[_]", 2) => Node::Index(b(self, 0)?, b(self, 1)?),
            ("@not_strictly_false", 1) => Node::NotStrictlyFalse(b(self, 0)?),
            ("size", 1) => Node::Call(Func::Size, vec![self.node(&args[0])?]),
            ("timestamp", 1) => Node::Call(Func::Timestamp, vec![self.node(&args[0])?]),
            (crate::policy::cel_ext::ITER2, 1) => {
                Node::Call(Func::Iter2, vec![self.node(&args[0])?])
            }
            _ => return None,
        })
    }

    fn helper(&mut self, ns: &str, name: &str, args: &[Expression]) -> Option<Node> {
        let nodes: Vec<Node> = args.iter().map(|a| self.node(a)).collect::<Option<_>>()?;
        let n = nodes.len();
        let f = match (ns, name, n) {
            ("shell", "commands", 1) => Func::ShellCommands,
            ("shell", "programs", 1) => Func::ShellPrograms,
            ("shell", "writes", 1) => Func::ShellWrites,
            ("shell", "reads", 1) => Func::ShellReads,
            ("shell", "dynamic", 1) => Func::ShellDynamic,
            ("shell", "opaque", 1) => Func::ShellOpaque,
            ("path", "fold", 1) => Func::PathFold,
            ("shell", "invokes", 2) => Func::ShellInvokes(match string_list(&nodes[1]) {
                // An invalid literal pattern is left to fail at evaluation, like any other.
                Some(p) => p
                    .iter()
                    .map(|p| shell::Pattern::new(p))
                    .collect::<Result<_, _>>()
                    .ok(),
                None => None,
            }),
            ("path", "normalize", 1) => Func::PathNormalize,
            ("path", "within", 2) => Func::PathWithin,
            ("path", "matches", 2) => Func::PathMatches(string_list(&nodes[1]).and_then(|globs| {
                let mut set = globset::GlobSetBuilder::new();
                let mut ci = globset::GlobSetBuilder::new();
                for g in &globs {
                    set.add(paths::glob_of(g).ok()?);
                    ci.add(paths::glob_ci_of(g).ok()?);
                }
                Some((set.build().ok()?, ci.build().ok()?))
            })),
            ("path", "base", 1) => Func::PathBase,
            ("path", "ext", 1) => Func::PathExt,
            ("url", "host", 1) => Func::UrlHost,
            ("url", "scheme", 1) => Func::UrlScheme,
            ("host", "matches", 2) => Func::HostMatches(string_list(&nodes[1])),
            ("secrets", "contains", 1) => Func::SecretsContains,
            ("secrets", "kinds", 1) => Func::SecretsKinds,
            _ => return None,
        };
        Some(Node::Call(f, nodes))
    }
}

/// Whether a comprehension is the expansion of `all` (`Some((true, pred))`) or `exists`
/// (`Some((false, pred))`), as the parser writes them.
fn quantifier_shape(c: &cel::common::ast::ComprehensionExpr) -> Option<(bool, &Expression)> {
    let is_accu = |e: &Expression| matches!(&e.expr, Expr::Ident(n) if *n == c.accu_var);
    fn call(e: &Expression) -> Option<(&str, &Vec<Expression>)> {
        match &e.expr {
            Expr::Call(k) if k.target.is_none() => Some((k.func_name.as_str(), &k.args)),
            _ => None,
        }
    }
    let init = match &c.accu_init.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => *b.inner(),
        _ => return None,
    };
    if !is_accu(&c.result) || c.iter_var == c.accu_var {
        return None;
    }
    let (cf, ca) = call(&c.loop_cond)?;
    let (sf, sa) = call(&c.loop_step)?;
    if cf != "@not_strictly_false" || ca.len() != 1 || sa.len() != 2 || !is_accu(&sa[0]) {
        return None;
    }
    let cond_ok = if init {
        is_accu(&ca[0])
    } else {
        matches!(call(&ca[0]), Some(("!_", a)) if a.len() == 1 && is_accu(&a[0]))
    };
    let step_ok = if init { sf == "_&&_" } else { sf == "_||_" };
    // The predicate must not read the accumulator (only the macros' `@result` is safe).
    (cond_ok && step_ok && c.accu_var.starts_with('@')).then_some((init, &sa[1]))
}

fn action_field(f: &str) -> Option<ActionField> {
    Some(match f {
        "tool" => ActionField::Tool,
        "args" => ActionField::Args,
        "session" => ActionField::Session,
        "run" => ActionField::Run,
        "metadata" => ActionField::Metadata,
        "cost" => ActionField::Cost,
        "tokens" => ActionField::Tokens,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------
// Values

type Ts = chrono::DateTime<chrono::FixedOffset>;

/// A value during evaluation; borrows from the action, the context, the compiled
/// policy and the per-decision shell cache wherever it can.
#[derive(Debug, Clone)]
enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(&'a str),
    Owned(Rc<str>),
    JList(&'a [Json]),
    JMap(&'a Map<String, Json>),
    CtxMap(&'a Map<String, Json>),
    LitList(&'a [Lit]),
    Strs(&'a [String]),
    Cmds(&'a [shell::Command]),
    CmdNames(&'a [shell::Command]),
    Cmd(&'a shell::Command),
    List(Rc<Vec<V<'a>>>),
    Ts(Ts),
    /// A duration: only made by timestamp arithmetic (`duration()` is interpreted), held
    /// within +-2^63 ns as in the `cel` crate and cel-go.
    Dur(chrono::TimeDelta),
}

/// An evaluation error (the rule then takes its `on_error` effect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError(pub Cow<'static, str>);

type R<'a> = Result<V<'a>, EvalError>;

fn err<T>(msg: impl Into<Cow<'static, str>>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

impl<'a> V<'a> {
    fn type_name(&self) -> &'static str {
        match self {
            V::Null => "null",
            V::Bool(_) => "bool",
            V::Int(_) => "int",
            V::Uint(_) => "uint",
            V::Double(_) => "double",
            V::Str(_) | V::Owned(_) => "string",
            V::JMap(_) | V::CtxMap(_) | V::Cmd(_) => "map",
            V::Ts(_) => "timestamp",
            V::Dur(_) => "duration",
            _ => "list",
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            V::Owned(s) => Some(s),
            _ => None,
        }
    }

    fn is_list(&self) -> bool {
        matches!(
            self,
            V::JList(_) | V::LitList(_) | V::Strs(_) | V::Cmds(_) | V::CmdNames(_) | V::List(_)
        )
    }

    fn len(&self) -> Option<usize> {
        Some(match self {
            V::JList(l) => l.len(),
            V::LitList(l) => l.len(),
            V::Strs(l) => l.len(),
            V::Cmds(l) | V::CmdNames(l) => l.len(),
            V::List(l) => l.len(),
            V::JMap(m) | V::CtxMap(m) => m.len(),
            V::Cmd(_) => shell::COMMAND_FIELDS.len(),
            _ => return None,
        })
    }

    /// Element `i` of a list.
    fn item(&self, i: usize) -> Option<V<'a>> {
        Some(match self {
            V::JList(l) => json(l.get(i)?),
            V::LitList(l) => lit_value(l.get(i)?),
            V::Strs(l) => V::Str(l.get(i)?),
            V::Cmds(l) => V::Cmd(l.get(i)?),
            V::CmdNames(l) => V::Str(&l.get(i)?.name),
            V::List(l) => l.get(i)?.clone(),
            _ => return None,
        })
    }
}

fn json(v: &Json) -> V<'_> {
    match v {
        Json::Null => V::Null,
        Json::Bool(b) => V::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                V::Int(i)
            } else if let Some(u) = n.as_u64() {
                V::Uint(u)
            } else {
                V::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => V::Str(s),
        Json::Array(a) => V::JList(a),
        Json::Object(o) => V::JMap(o),
    }
}

fn lit_value(l: &Lit) -> V<'_> {
    match l {
        Lit::Null => V::Null,
        Lit::Bool(b) => V::Bool(*b),
        Lit::Int(i) => V::Int(*i),
        Lit::Uint(u) => V::Uint(*u),
        Lit::Double(d) => V::Double(*d),
        Lit::Str(s) => V::Str(s),
        Lit::List(l) => V::LitList(l),
    }
}

fn context_value<'a>(key: &str, v: &'a Json) -> V<'a> {
    if key == "now" {
        if let Json::String(s) = v {
            if let Ok(t) = crate::policy::cel_ext::timestamp(s) {
                return V::Ts(t);
            }
        }
    }
    json(v)
}

/// Numeric view for cross-type comparison.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    D(f64),
}

fn num(v: &V<'_>) -> Option<Num> {
    match v {
        V::Int(i) => Some(Num::I(*i)),
        V::Uint(u) => Some(Num::U(*u)),
        V::Double(d) => Some(Num::D(*d)),
        _ => None,
    }
}

fn num_cmp(a: Num, b: Num) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::U(x), Num::U(y)) => Some(x.cmp(&y)),
        (Num::I(x), Num::U(y)) => Some(if x < 0 {
            Ordering::Less
        } else {
            (x as u64).cmp(&y)
        }),
        (Num::U(x), Num::I(y)) => Some(if y < 0 {
            Ordering::Greater
        } else {
            x.cmp(&(y as u64))
        }),
        (Num::D(x), Num::D(y)) => x.partial_cmp(&y),
        (Num::D(x), Num::I(y)) => x.partial_cmp(&(y as f64)),
        (Num::D(x), Num::U(y)) => x.partial_cmp(&(y as f64)),
        (Num::I(x), Num::D(y)) => (x as f64).partial_cmp(&y),
        (Num::U(x), Num::D(y)) => (x as f64).partial_cmp(&y),
    }
}

/// CEL equality: numbers compare by value across types, lists and maps deeply, values of
/// different types are unequal.
fn equal(a: &V<'_>, b: &V<'_>) -> bool {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return num_cmp(x, y) == Some(std::cmp::Ordering::Equal);
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return x == y;
    }
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Ts(x), V::Ts(y)) => x == y,
        (V::Dur(x), V::Dur(y)) => x == y,
        _ if a.is_list() && b.is_list() => {
            let n = a.len();
            n == b.len()
                && (0..n.unwrap_or(0)).all(|i| match (a.item(i), b.item(i)) {
                    (Some(x), Some(y)) => equal(&x, &y),
                    _ => false,
                })
        }
        (V::JMap(x) | V::CtxMap(x), V::JMap(y) | V::CtxMap(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| match y.get(k) {
                    Some(w) => equal(&json(v), &json(w)),
                    None => false,
                })
        }
        (V::Cmd(x), V::Cmd(y)) => x == y,
        _ => false,
    }
}

fn order(op: Cmp, a: &V<'_>, b: &V<'_>) -> Result<bool, EvalError> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = if let (Some(x), Some(y)) = (num(a), num(b)) {
        num_cmp(x, y)
    } else if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        Some(x.cmp(y))
    } else {
        match (a, b) {
            (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
            (V::Ts(x), V::Ts(y)) => Some(x.cmp(y)),
            (V::Dur(x), V::Dur(y)) => Some(x.cmp(y)),
            _ => {
                return err(format!(
                    "no ordering between {} and {}",
                    a.type_name(),
                    b.type_name()
                ))
            }
        }
    };
    // NaN compares false in every direction.
    Ok(match (op, ord) {
        (_, None) => false,
        (Cmp::Lt, Some(o)) => o == Ordering::Less,
        (Cmp::Le, Some(o)) => o != Ordering::Greater,
        (Cmp::Gt, Some(o)) => o == Ordering::Greater,
        (Cmp::Ge, Some(o)) => o != Ordering::Less,
        (Cmp::Eq | Cmp::Ne, _) => unreachable!("equality is not an ordering"),
    })
}

/// Checked integer arithmetic, the same for `int` and `uint`.
macro_rules! checked {
    ($op:expr, $x:expr, $y:expr, $wrap:path) => {{
        let (x, y) = ($x, $y);
        let r = match $op {
            Arith::Add => x.checked_add(y),
            Arith::Sub => x.checked_sub(y),
            Arith::Mul => x.checked_mul(y),
            Arith::Div if y == 0 => return err("division by zero"),
            Arith::Div => x.checked_div(y),
            Arith::Rem if y == 0 => return err("remainder by zero"),
            Arith::Rem => x.checked_rem(y),
        };
        r.map($wrap)
            .map_or_else(|| err(format!("{:?} overflows", $op)), Ok)
    }};
}

/// A duration within the range both evaluators hold (+-2^63 ns).
fn duration<'a>(d: Option<chrono::TimeDelta>) -> R<'a> {
    match d {
        Some(d) if d.num_nanoseconds().is_some() => Ok(V::Dur(d)),
        _ => err("duration out of range"),
    }
}

/// A timestamp within CEL's range (years 1 to 9999).
fn timestamp<'a>(t: Option<Ts>) -> R<'a> {
    use chrono::Datelike;
    match t {
        Some(t) if (1..=9999).contains(&t.with_timezone(&chrono::Utc).year()) => Ok(V::Ts(t)),
        _ => err("timestamp out of range"),
    }
}

fn arith<'a>(op: Arith, a: V<'a>, b: V<'a>) -> R<'a> {
    match (&a, &b) {
        (V::Ts(x), V::Ts(y)) if matches!(op, Arith::Sub) => {
            duration(Some(x.signed_duration_since(*y)))
        }
        (V::Ts(t), V::Dur(d)) if matches!(op, Arith::Add) => timestamp(t.checked_add_signed(*d)),
        (V::Dur(d), V::Ts(t)) if matches!(op, Arith::Add) => timestamp(t.checked_add_signed(*d)),
        (V::Ts(t), V::Dur(d)) if matches!(op, Arith::Sub) => timestamp(t.checked_sub_signed(*d)),
        (V::Dur(x), V::Dur(y)) if matches!(op, Arith::Add) => duration(x.checked_add(y)),
        (V::Dur(x), V::Dur(y)) if matches!(op, Arith::Sub) => duration(x.checked_sub(y)),
        (V::Int(x), V::Int(y)) => checked!(op, *x, *y, V::Int),
        (V::Uint(x), V::Uint(y)) => checked!(op, *x, *y, V::Uint),
        (V::Double(x), V::Double(y)) => Ok(V::Double(match op {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
            Arith::Rem => return err("no remainder of doubles"),
        })),
        _ if matches!(op, Arith::Add) => {
            if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(x);
                s.push_str(y);
                return Ok(V::Owned(s.into()));
            }
            if a.is_list() && b.is_list() {
                let mut out = Vec::with_capacity(a.len().unwrap_or(0) + b.len().unwrap_or(0));
                for v in [&a, &b] {
                    for i in 0..v.len().unwrap_or(0) {
                        out.extend(v.item(i).map(|x| own(&x)));
                    }
                }
                return Ok(V::List(Rc::new(out)));
            }
            err(format!("no + for {} and {}", a.type_name(), b.type_name()))
        }
        _ => err(format!(
            "no {op:?} for {} and {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

/// Re-borrows a list element out of its container's borrow (they share `'a`).
fn own<'a>(v: &V<'a>) -> V<'a> {
    v.clone()
}

// ---------------------------------------------------------------------------------
// Evaluating

type ShellResult = Result<shell::Parsed, shell::ShellError>;
type UrlResult = Result<net::UrlParts, net::UrlError>;

/// Where a decision's parses live (owned by the caller, outliving the [`Scope`]); each
/// arena is made on first use, so a decision that parses nothing allocates nothing here.
#[derive(Default)]
pub(crate) struct Arenas {
    shell: std::cell::OnceCell<typed_arena::Arena<ShellResult>>,
    urls: std::cell::OnceCell<typed_arena::Arena<UrlResult>>,
}

fn arena<T>(cell: &std::cell::OnceCell<typed_arena::Arena<T>>) -> &typed_arena::Arena<T> {
    cell.get_or_init(|| typed_arena::Arena::with_capacity(2))
}

/// Per-decision state: the inputs, and shell and URL parses shared by every rule.
pub(crate) struct Scope<'a> {
    action: &'a Action,
    context: &'a Context,
    arenas: &'a Arenas,
    shell: RefCell<Vec<(&'a str, &'a ShellResult)>>,
    urls: RefCell<Vec<(&'a str, &'a UrlResult)>>,
}

impl<'a> Scope<'a> {
    pub(crate) fn new(action: &'a Action, context: &'a Context, arenas: &'a Arenas) -> Scope<'a> {
        Scope {
            action,
            context,
            arenas,
            shell: RefCell::new(Vec::new()),
            urls: RefCell::new(Vec::new()),
        }
    }
}

/// Looks `key` up in a per-decision memo, computing and remembering it on a miss. A key
/// borrowed from the inputs is remembered; a key computed during evaluation (rare) is
/// parsed each time it is asked for.
fn memo<'a, T>(
    memo: &RefCell<Vec<(&'a str, &'a T)>>,
    arena: &'a typed_arena::Arena<T>,
    key: KeyStr<'a, '_>,
    compute: impl FnOnce(&str) -> T,
) -> &'a T {
    let k = key.as_str();
    if let Some((_, v)) = memo.borrow().iter().find(|(x, _)| *x == k) {
        return v;
    }
    let v: &'a T = arena.alloc(compute(k));
    if let KeyStr::Borrowed(b) = key {
        memo.borrow_mut().push((b, v));
    }
    v
}

/// A string argument: borrowed for the whole decision, or computed during it.
enum KeyStr<'a, 'b> {
    Borrowed(&'a str),
    Computed(&'b str),
}

impl KeyStr<'_, '_> {
    fn as_str(&self) -> &str {
        match self {
            KeyStr::Borrowed(s) | KeyStr::Computed(s) => s,
        }
    }
}

fn key_of<'a, 'b>(f: &str, v: &'b V<'a>) -> Result<KeyStr<'a, 'b>, EvalError> {
    match v {
        V::Str(s) => Ok(KeyStr::Borrowed(s)),
        V::Owned(s) => Ok(KeyStr::Computed(s)),
        other => err(format!(
            "{f}: argument 1 must be a string, not {}",
            other.type_name()
        )),
    }
}

impl Program {
    /// Evaluates to a bool, or says why not.
    pub(crate) fn evaluate<'a>(&'a self, scope: &Scope<'a>) -> Result<bool, String> {
        let mut locals: Locals<'a> = smallvec::smallvec![V::Null; self.slots];
        match eval(&self.root, scope, &mut locals) {
            Ok(V::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "condition evaluated to {}, not a bool",
                other.type_name()
            )),
            Err(e) => Err(e.0.into_owned()),
        }
    }
}

impl Program {
    /// Evaluates to any value, for the conformance suite.
    pub(crate) fn evaluate_value<'a>(
        &'a self,
        scope: &Scope<'a>,
    ) -> Result<crate::policy::conformance::Value, String> {
        let mut locals: Locals<'a> = smallvec::smallvec![V::Null; self.slots];
        eval(&self.root, scope, &mut locals)
            .map(|v| conformance_value(&v))
            .map_err(|e| e.0.into_owned())
    }
}

/// A native value as the conformance suite's value type.
fn conformance_value(v: &V<'_>) -> crate::policy::conformance::Value {
    use crate::policy::conformance::Value as C;
    match v {
        V::Null => C::Null,
        V::Bool(b) => C::Bool(*b),
        V::Int(i) => C::Int(*i),
        V::Uint(u) => C::Uint(*u),
        V::Double(d) => C::Double(*d),
        V::Str(s) => C::String(s.to_string()),
        V::Owned(s) => C::String(s.to_string()),
        V::JMap(m) | V::CtxMap(m) => C::Map(
            m.iter()
                .map(|(k, x)| (C::String(k.clone()), conformance_value(&json(x))))
                .collect(),
        ),
        V::Ts(t) => C::Other(format!("timestamp({})", t.to_rfc3339())),
        V::Dur(d) => C::Other(format!("duration({d})")),
        V::Cmd(_) => C::Other("shell command".into()),
        _ if v.is_list() => C::List(
            (0..v.len().unwrap_or(0))
                .filter_map(|i| v.item(i).map(|x| conformance_value(&x)))
                .collect(),
        ),
        _ => C::Other(v.type_name().into()),
    }
}

fn bool_of(v: &R<'_>) -> Option<bool> {
    match v {
        Ok(V::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// Comprehension variables, by slot.
type Locals<'a> = smallvec::SmallVec<[V<'a>; 4]>;

fn eval<'a>(n: &'a Node, s: &Scope<'a>, locals: &mut Locals<'a>) -> R<'a> {
    match n {
        Node::Const(l) => Ok(lit_value(l)),
        Node::Action(f) => action(s.action, *f),
        Node::Actor(f) => Ok(match f {
            ActorField::Id => V::Str(&s.action.actor.id),
            ActorField::Roles => V::Strs(&s.action.actor.roles),
            ActorField::Kind => V::Str(s.action.actor.kind.as_str()),
        }),
        Node::Context => Ok(V::CtxMap(s.context.values())),
        Node::ContextField(k) => match s.context.values().get(&**k) {
            Some(v) => Ok(context_value(k, v)),
            None => err(format!("no such key: {k}")),
        },
        Node::HasAction(f) => Ok(V::Bool(match f {
            ActionField::Cost => s.action.cost.is_some(),
            ActionField::Tokens => s.action.tokens.is_some(),
            _ => true,
        })),
        Node::HasContext(k) => Ok(V::Bool(s.context.values().contains_key(&**k))),
        Node::Local(i) => Ok(locals[*i].clone()),
        Node::Select(x, f) => {
            let v = eval(x, s, locals)?;
            select(v, f)
        }
        Node::Has(x, f) => match eval(x, s, locals)? {
            V::JMap(m) | V::CtxMap(m) => Ok(V::Bool(m.contains_key(&**f))),
            V::Cmd(_) => Ok(V::Bool(shell::COMMAND_FIELDS.contains(&&**f))),
            other => err(format!("has() on a {}", other.type_name())),
        },
        Node::Index(x, i) => {
            let v = eval(x, s, locals)?;
            let i = eval(i, s, locals)?;
            index(v, i)
        }
        Node::And(a, b) => {
            let x = eval(a, s, locals);
            if bool_of(&x) == Some(false) {
                return Ok(V::Bool(false));
            }
            let y = eval(b, s, locals);
            match (bool_of(&x), bool_of(&y)) {
                (_, Some(false)) => Ok(V::Bool(false)),
                (Some(true), Some(true)) => Ok(V::Bool(true)),
                _ => logic_error("&&", x, y),
            }
        }
        Node::Or(a, b) => {
            let x = eval(a, s, locals);
            if bool_of(&x) == Some(true) {
                return Ok(V::Bool(true));
            }
            let y = eval(b, s, locals);
            match (bool_of(&x), bool_of(&y)) {
                (_, Some(true)) => Ok(V::Bool(true)),
                (Some(false), Some(false)) => Ok(V::Bool(false)),
                _ => logic_error("||", x, y),
            }
        }
        Node::Not(a) => match eval(a, s, locals)? {
            V::Bool(b) => Ok(V::Bool(!b)),
            other => err(format!("no ! for {}", other.type_name())),
        },
        Node::Neg(a) => match eval(a, s, locals)? {
            V::Int(i) => i
                .checked_neg()
                .map(V::Int)
                .map_or_else(|| err("negation overflows"), Ok),
            V::Double(d) => Ok(V::Double(-d)),
            other => err(format!("no - for {}", other.type_name())),
        },
        Node::Cond(c, a, b) => match eval(c, s, locals)? {
            V::Bool(true) => eval(a, s, locals),
            V::Bool(false) => eval(b, s, locals),
            other => err(format!(
                "condition of ?: is a {}, not a bool",
                other.type_name()
            )),
        },
        Node::Cmp(op, a, b) => {
            let x = eval(a, s, locals)?;
            let y = eval(b, s, locals)?;
            Ok(V::Bool(match op {
                Cmp::Eq => equal(&x, &y),
                Cmp::Ne => !equal(&x, &y),
                _ => order(*op, &x, &y)?,
            }))
        }
        Node::Arith(op, a, b) => {
            let x = eval(a, s, locals)?;
            let y = eval(b, s, locals)?;
            arith(*op, x, y)
        }
        Node::InStrs(a, set) => {
            let x = eval(a, s, locals)?;
            match x.as_str() {
                Some(k) => Ok(V::Bool(set.set.contains(k))),
                None => in_value(x, lit_value(&set.list)),
            }
        }
        Node::In(a, b) => {
            let x = eval(a, s, locals)?;
            let y = eval(b, s, locals)?;
            in_value(x, y)
        }
        Node::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(eval(i, s, locals)?);
            }
            Ok(V::List(Rc::new(out)))
        }
        Node::NotStrictlyFalse(a) => Ok(V::Bool(!matches!(eval(a, s, locals), Ok(V::Bool(false))))),
        Node::Quantifier(q) => quantify(q, s, locals),
        Node::Comprehension(c) => {
            let range = eval(&c.range, s, locals)?;
            if let (true, Node::Cond(pred, _, _)) = (c.filter && range.is_list(), &c.step) {
                let mut out = Vec::new();
                for i in 0..range.len().unwrap_or(0) {
                    let Some(item) = range.item(i) else { break };
                    locals[c.iter] = own(&item);
                    match eval(pred, s, locals)? {
                        V::Bool(true) => out.push(item),
                        V::Bool(false) => {}
                        other => {
                            return err(format!(
                                "condition of ?: is a {}, not a bool",
                                other.type_name()
                            ))
                        }
                    }
                }
                return Ok(V::List(Rc::new(out)));
            }
            let init = eval(&c.init, s, locals)?;
            locals[c.accu] = init;
            let keys: Vec<V<'a>>;
            let n = match &range {
                V::JMap(m) | V::CtxMap(m) => {
                    keys = m.keys().map(|k| V::Str(k.as_str())).collect();
                    keys.len()
                }
                V::Cmd(_) => {
                    keys = shell::COMMAND_FIELDS.iter().copied().map(V::Str).collect();
                    keys.len()
                }
                _ if range.is_list() => {
                    keys = Vec::new();
                    range.len().unwrap_or(0)
                }
                other => return err(format!("cannot iterate over a {}", other.type_name())),
            };
            for i in 0..n {
                let item = if keys.is_empty() {
                    match range.item(i) {
                        Some(v) => own(&v),
                        None => break,
                    }
                } else {
                    keys[i].clone()
                };
                locals[c.iter] = item;
                match eval(&c.cond, s, locals)? {
                    V::Bool(true) => {}
                    V::Bool(false) => break,
                    other => return err(format!("loop condition is a {}", other.type_name())),
                }
                locals[c.accu] = eval(&c.step, s, locals)?;
            }
            eval(&c.result, s, locals)
        }
        Node::Call(f, args) => call(f, args, s, locals),
    }
}

/// `x in y` for a map (its keys), a shell command (its fields) or a list (its elements).
fn in_value<'a>(x: V<'a>, y: V<'a>) -> R<'a> {
    // Map keys are strings, ints, uints or bools; JSON maps only hold strings.
    fn key<'k>(x: &'k V<'_>) -> Result<Option<&'k str>, EvalError> {
        match x {
            V::Str(_) | V::Owned(_) => Ok(x.as_str()),
            V::Int(_) | V::Uint(_) | V::Bool(_) => Ok(None),
            other => err(format!("no `in` for a {} key", other.type_name())),
        }
    }
    match &y {
        V::JMap(m) | V::CtxMap(m) => Ok(V::Bool(key(&x)?.is_some_and(|k| m.contains_key(k)))),
        V::Cmd(_) => Ok(V::Bool(
            key(&x)?.is_some_and(|k| shell::COMMAND_FIELDS.contains(&k)),
        )),
        _ if y.is_list() => Ok(V::Bool(
            (0..y.len().unwrap_or(0)).any(|i| y.item(i).is_some_and(|e| equal(&x, &e))),
        )),
        other => err(format!("no `in` for a {}", other.type_name())),
    }
}

/// `all`/`exists`: the first decisive element (`false` for `all`, `true` for `exists`)
/// decides, whatever errors came before it; else the first error, else the default.
fn quantify<'a>(q: &'a Quantifier, s: &Scope<'a>, locals: &mut Locals<'a>) -> R<'a> {
    let range = eval(&q.range, s, locals)?;
    let keys: Vec<V<'a>> = match &range {
        V::JMap(m) | V::CtxMap(m) => m.keys().map(|k| V::Str(k.as_str())).collect(),
        V::Cmd(_) => shell::COMMAND_FIELDS.iter().copied().map(V::Str).collect(),
        _ if range.is_list() => Vec::new(),
        other => return err(format!("cannot iterate over a {}", other.type_name())),
    };
    let n = if keys.is_empty() {
        range.len().unwrap_or(0)
    } else {
        keys.len()
    };
    let mut first_err: Option<EvalError> = None;
    for i in 0..n {
        locals[q.iter] = if keys.is_empty() {
            match range.item(i) {
                Some(v) => own(&v),
                None => break,
            }
        } else {
            keys[i].clone()
        };
        match eval(&q.pred, s, locals) {
            Ok(V::Bool(b)) if b != q.all => return Ok(V::Bool(b)),
            Ok(V::Bool(_)) => {}
            Ok(other) => {
                first_err.get_or_insert_with(|| {
                    EvalError(format!("predicate is a {}, not a bool", other.type_name()).into())
                });
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(V::Bool(q.all)),
    }
}

fn logic_error<'a>(op: &str, x: R<'a>, y: R<'a>) -> R<'a> {
    match (x, y) {
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(a), Ok(b)) => err(format!(
            "no {op} for {} and {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

fn action(a: &Action, f: ActionField) -> R<'_> {
    Ok(match f {
        ActionField::Tool => V::Str(&a.tool),
        ActionField::Args => V::JMap(&a.args),
        ActionField::Session => V::Str(&a.session),
        ActionField::Run => V::Str(&a.run),
        ActionField::Metadata => V::JMap(&a.metadata),
        ActionField::Cost => match a.cost {
            Some(c) => V::Double(c),
            None => return err("no such key: cost"),
        },
        ActionField::Tokens => match a.tokens {
            Some(t) => V::Int(t),
            None => return err("no such key: tokens"),
        },
    })
}

fn select<'a>(v: V<'a>, f: &str) -> R<'a> {
    match v {
        V::JMap(m) => m
            .get(f)
            .map(json)
            .map_or_else(|| err(format!("no such key: {f}")), Ok),
        V::CtxMap(m) => match m.get_key_value(f) {
            Some((k, v)) => Ok(context_value(k, v)),
            None => err(format!("no such key: {f}")),
        },
        V::Cmd(c) => Ok(match c.field(f) {
            Some(shell::Field::Str(x)) => V::Str(x),
            Some(shell::Field::Strs(x)) => V::Strs(x),
            Some(shell::Field::Bool(b)) => V::Bool(b),
            None => return err(format!("no such key: {f}")),
        }),
        other => err(format!("cannot select `{f}` from a {}", other.type_name())),
    }
}

fn index<'a>(v: V<'a>, i: V<'a>) -> R<'a> {
    if v.is_list() {
        let idx = match i {
            V::Int(n) if n >= 0 => n as usize,
            V::Uint(n) => n as usize,
            V::Double(d) if d >= 0.0 && d.fract() == 0.0 => d as usize,
            other => return err(format!("invalid list index {other:?}")),
        };
        return match v.item(idx) {
            Some(x) => Ok(own(&x)),
            None => err(format!("index {idx} out of range")),
        };
    }
    match (&v, i.as_str()) {
        (V::JMap(_) | V::CtxMap(_) | V::Cmd(_), Some(k)) => select(v.clone(), k),
        _ => err(format!(
            "cannot index a {} with a {}",
            v.type_name(),
            i.type_name()
        )),
    }
}

/// The shell parse of `cmd`, shared by every rule of this decision.
fn parse_shell<'a>(s: &Scope<'a>, f: &str, cmd: &V<'a>) -> Result<&'a shell::Parsed, EvalError> {
    memo(
        &s.shell,
        arena(&s.arenas.shell),
        key_of(f, cmd)?,
        shell::parse,
    )
    .as_ref()
    .map_err(|e| EvalError(e.to_string().into()))
}

/// The parse of URL `u`, shared by every rule of this decision.
fn parse_url<'a>(s: &Scope<'a>, f: &str, u: &V<'a>) -> Result<&'a net::UrlParts, EvalError> {
    memo(
        &s.urls,
        arena(&s.arenas.urls),
        key_of(f, u)?,
        net::parse_url,
    )
    .as_ref()
    .map_err(|e| EvalError(e.to_string().into()))
}

fn str_arg<'b>(f: &str, v: &'b V<'_>, i: usize) -> Result<&'b str, EvalError> {
    v.as_str().map_or_else(
        || {
            err(format!(
                "{f}: argument {} must be a string, not {}",
                i + 1,
                v.type_name()
            ))
        },
        Ok,
    )
}

/// The strings of a string or a list of strings.
fn strings<'b>(f: &str, v: &'b V<'_>) -> Result<Vec<Cow<'b, str>>, EvalError> {
    if let Some(s) = v.as_str() {
        return Ok(vec![Cow::Borrowed(s)]);
    }
    if v.is_list() {
        return (0..v.len().unwrap_or(0))
            .map(|i| match v.item(i) {
                Some(V::Str(s)) => Ok(Cow::Owned(s.to_owned())),
                Some(V::Owned(s)) => Ok(Cow::Owned(s.to_string())),
                _ => err(format!("{f}: the list must hold only strings")),
            })
            .collect();
    }
    err(format!(
        "{f}: expected a string or a list of strings, not {}",
        v.type_name()
    ))
}

fn json_of(v: &V<'_>) -> Option<Json> {
    Some(match v {
        V::Null => Json::Null,
        V::Bool(b) => Json::Bool(*b),
        V::Int(i) => Json::from(*i),
        V::Uint(u) => Json::from(*u),
        V::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
        V::Str(s) => Json::String((*s).to_owned()),
        V::Owned(s) => Json::String(s.to_string()),
        V::JMap(m) | V::CtxMap(m) => Json::Object((*m).clone()),
        V::Cmd(c) => c.to_json(),
        V::Ts(t) => Json::String(t.to_rfc3339()),
        _ if v.is_list() => Json::Array(
            (0..v.len().unwrap_or(0))
                .filter_map(|i| v.item(i).and_then(|x| json_of(&x)))
                .collect(),
        ),
        _ => return None,
    })
}

fn call<'a>(f: &'a Func, args: &'a [Node], s: &Scope<'a>, locals: &mut Locals<'a>) -> R<'a> {
    // Arguments whose literal was precompiled are not evaluated again.
    let precompiled = matches!(
        f,
        Func::ShellInvokes(Some(_))
            | Func::PathMatches(Some(_))
            | Func::HostMatches(Some(_))
            | Func::Matches(Some(_))
    );
    let mut vals: smallvec::SmallVec<[V<'a>; 3]> = smallvec::SmallVec::new();
    for (i, a) in args.iter().enumerate() {
        if precompiled && i == 1 {
            vals.push(V::Null);
        } else {
            vals.push(eval(a, s, locals)?);
        }
    }
    match f {
        Func::Size => match &vals[0] {
            V::Str(x) => Ok(V::Int(x.chars().count() as i64)),
            V::Owned(x) => Ok(V::Int(x.chars().count() as i64)),
            v => v
                .len()
                .map(|n| V::Int(n as i64))
                .map_or_else(|| err(format!("no size() of a {}", v.type_name())), Ok),
        },
        Func::StartsWith | Func::EndsWith | Func::Contains => {
            let (a, b) = (
                str_arg("string method", &vals[0], 0)?,
                str_arg("string method", &vals[1], 1)?,
            );
            Ok(V::Bool(match f {
                Func::StartsWith => a.starts_with(b),
                Func::EndsWith => a.ends_with(b),
                _ => a.contains(b),
            }))
        }
        Func::Matches(re) => {
            let text = str_arg("matches", &vals[0], 0)?;
            match re {
                Some(re) => Ok(V::Bool(re.is_match(text))),
                None => {
                    let pat = str_arg("matches", &vals[1], 1)?;
                    let re = regex::Regex::new(pat)
                        .map_err(|e| EvalError(format!("matches: {e}").into()))?;
                    Ok(V::Bool(re.is_match(text)))
                }
            }
        }
        Func::Timestamp => match &vals[0] {
            V::Ts(t) => Ok(V::Ts(*t)),
            V::Int(secs) => crate::policy::cel_ext::timestamp_of_seconds(*secs)
                .map(V::Ts)
                .map_err(|e| EvalError(format!("timestamp: {e}").into())),
            v => {
                let text = str_arg("timestamp", v, 0)?;
                crate::policy::cel_ext::timestamp(text)
                    .map(V::Ts)
                    .map_err(|e| EvalError(format!("timestamp: {e}").into()))
            }
        },
        Func::Iter2 => match &vals[0] {
            V::JMap(_) | V::CtxMap(_) | V::Cmd(_) => Ok(vals[0].clone()),
            v if v.is_list() => Ok(V::List(Rc::new(
                (0..v.len().unwrap_or(0) as i64).map(V::Int).collect(),
            ))),
            v => err(format!(
                "cannot iterate over a {} (a list or a map is needed)",
                v.type_name()
            )),
        },
        Func::ShellCommands => Ok(V::Cmds(
            &parse_shell(s, "shell.commands", &vals[0])?.commands,
        )),
        Func::ShellPrograms => Ok(V::CmdNames(
            &parse_shell(s, "shell.programs", &vals[0])?.commands,
        )),
        Func::ShellWrites => Ok(V::Strs(&parse_shell(s, "shell.writes", &vals[0])?.writes)),
        Func::ShellReads => Ok(V::Strs(&parse_shell(s, "shell.reads", &vals[0])?.reads)),
        Func::ShellDynamic => Ok(V::Bool(parse_shell(s, "shell.dynamic", &vals[0])?.dynamic)),
        Func::ShellOpaque => Ok(V::Bool(parse_shell(s, "shell.opaque", &vals[0])?.opaque)),
        Func::ShellInvokes(pats) => {
            let parsed = parse_shell(s, "shell.invokes", &vals[0])?;
            match pats {
                Some(p) => Ok(V::Bool(p.iter().any(|p| parsed.invokes(p)))),
                None => {
                    for p in strings("shell.invokes", &vals[1])? {
                        let p = shell::Pattern::new(&p).map_err(|e| EvalError(e.into()))?;
                        if parsed.invokes(&p) {
                            return Ok(V::Bool(true));
                        }
                    }
                    Ok(V::Bool(false))
                }
            }
        }
        Func::PathNormalize => Ok(V::Owned(
            paths::normalize(str_arg("path.normalize", &vals[0], 0)?).into(),
        )),
        Func::PathWithin => Ok(V::Bool(paths::within(
            str_arg("path.within", &vals[0], 0)?,
            str_arg("path.within", &vals[1], 1)?,
        ))),
        Func::PathMatches(set) => {
            let p = str_arg("path.matches", &vals[0], 0)?;
            let e = |e: paths::PathError| EvalError(e.to_string().into());
            match set {
                Some((set, ci)) => Ok(V::Bool(
                    paths::matches_with(p, |x| set.is_match(x), |x| ci.is_match(x)).map_err(e)?,
                )),
                None => {
                    for g in strings("path.matches", &vals[1])? {
                        if paths::matches(p, &g).map_err(e)? {
                            return Ok(V::Bool(true));
                        }
                    }
                    Ok(V::Bool(false))
                }
            }
        }
        Func::PathFold => Ok(V::Owned(
            paths::fold(str_arg("path.fold", &vals[0], 0)?)
                .map_err(|e| EvalError(e.to_string().into()))?
                .into(),
        )),
        Func::PathBase => Ok(V::Owned(
            paths::base_name(str_arg("path.base", &vals[0], 0)?).into(),
        )),
        Func::PathExt => Ok(V::Owned(
            paths::extension(str_arg("path.ext", &vals[0], 0)?).into(),
        )),
        Func::UrlHost => Ok(V::Str(&parse_url(s, "url.host", &vals[0])?.host)),
        Func::UrlScheme => Ok(V::Str(&parse_url(s, "url.scheme", &vals[0])?.scheme)),
        Func::HostMatches(pats) => {
            let h = str_arg("host.matches", &vals[0], 0)?;
            Ok(V::Bool(match pats {
                Some(p) => p.iter().any(|p| net::host_matches(h, p)),
                None => strings("host.matches", &vals[1])?
                    .iter()
                    .any(|p| net::host_matches(h, p)),
            }))
        }
        Func::SecretsContains | Func::SecretsKinds => {
            let kinds: Vec<&'static str> = match &vals[0] {
                V::Str(x) => secrets::find(x).into_iter().map(|f| f.kind).collect(),
                V::Owned(x) => secrets::find(x).into_iter().map(|f| f.kind).collect(),
                V::JMap(m) | V::CtxMap(m) if matches!(f, Func::SecretsContains) => {
                    // The common case: no conversion, stop at the first hit.
                    let hit = m
                        .iter()
                        .any(|(k, v)| secrets::contains(k) || secrets::json_contains(v));
                    return Ok(V::Bool(hit));
                }
                v => {
                    let j = json_of(v).map_or_else(|| err("secrets: unsupported value"), Ok)?;
                    secrets::find_in_json(&j)
                        .into_iter()
                        .map(|f| f.kind)
                        .collect()
                }
            };
            if matches!(f, Func::SecretsContains) {
                return Ok(V::Bool(!kinds.is_empty()));
            }
            let mut kinds = kinds;
            kinds.sort_unstable();
            kinds.dedup();
            Ok(V::List(Rc::new(kinds.into_iter().map(V::Str).collect())))
        }
    }
}
