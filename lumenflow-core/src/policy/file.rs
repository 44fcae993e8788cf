//! Policies: the file format (YAML or JSON, one schema), loading with diagnostics that
//! point into the text, and compiled rules.
//!
//! The format is specified in `spec/policy.md` and `spec/policy.schema.json`. Loading
//! checks everything it can before any decision is made: unknown fields, duplicate rule
//! ids, bad effects, CEL syntax, references to variables and action fields that do not
//! exist, unknown LumenFlow functions, and size limits. Every CEL expression is compiled
//! once, here.

pub use super::condition::Condition;
use super::effect::Effect;
use crate::error::{Diagnostic, PolicyError};
use crate::evidence::canonical;
use crate::policy::functions::{FUNCTIONS, NAMESPACES};
use cel::common::ast::{CallExpr, EntryExpr, Expr, LiteralValue};
use cel::parser::Expression;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

/// The policy format version this build reads.
pub const FORMAT_VERSION: u64 = 1;
/// Longest `when` expression, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 8 * 1024;
/// Deepest nesting of brackets, unary operators or conditionals in an expression.
pub const MAX_EXPRESSION_DEPTH: usize = 32;
/// Most rules in one policy.
pub const MAX_RULES: usize = 10_000;
/// Longest duration (`expires_in`, `window`) a policy may give: 100 years, in seconds.
pub const MAX_DURATION_SECS: u64 = 100 * 365 * 24 * 3600 + 25 * 24 * 3600;
/// Largest policy source, in bytes.
pub const MAX_POLICY_BYTES: usize = 4 * 1024 * 1024;

/// The fields of `action` that rules may read.
pub const ACTION_FIELDS: &[&str] = &[
    "tool", "args", "actor", "session", "run", "metadata", "cost", "tokens",
];
/// The fields of `action.actor`.
pub const ACTOR_FIELDS: &[&str] = &["id", "roles", "kind"];
/// The variables rules see.
pub const VARIABLES: &[&str] = &["action", "context"];

/// The source format of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML 1.2.
    Yaml,
    /// JSON.
    Json,
}

impl Format {
    /// The format a path's extension names (`.json` is JSON; anything else YAML).
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// What a policy lets later layers loosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loosen {
    /// This policy's default (no rule of it matched) may be loosened by a later layer's rule.
    Default,
    /// This policy's `require_approval` rules may be loosened to allow by a later layer.
    RequireApproval,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    version: Spanned<u64>,
    name: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    default: Option<Spanned<Effect>>,
    #[serde(default)]
    on_error: Option<Spanned<Effect>>,
    #[serde(default)]
    may_loosen: Vec<Loosen>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
    #[serde(default)]
    budgets: Vec<BudgetDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetDoc {
    id: Spanned<String>,
    per: Spanned<crate::policy::budget::Per>,
    limit: Spanned<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    window: Option<Spanned<String>>,
    charge: Spanned<String>,
    #[serde(default)]
    warn_at: Option<Spanned<f64>>,
    #[serde(default)]
    on_exceed: Option<Spanned<Effect>>,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    quorum: Option<Spanned<u32>>,
    #[serde(default)]
    expires_in: Option<Spanned<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: Spanned<String>,
    effect: Spanned<Effect>,
    when: Spanned<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    on_error: Option<Spanned<Effect>>,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    quorum: Option<Spanned<u32>>,
    #[serde(default)]
    expires_in: Option<Spanned<String>>,
    #[serde(default)]
    auto_approve: Option<Spanned<String>>,
    #[serde(default)]
    overridable_by: Vec<String>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    id: Arc<str>,
    effect: Effect,
    on_error: Effect,
    reason: Option<Arc<str>>,
    approvers: Vec<Arc<str>>,
    quorum: u32,
    expires_in: Option<u64>,
    auto_approve: Option<Condition>,
    overridable_by: Vec<Arc<str>>,
    when: String,
    line: u64,
    /// The tools the rule is limited to by a top-level `action.tool == "x"` or
    /// `action.tool in [...]` conjunct; `None` if it may match any tool.
    tools: Option<BTreeSet<String>>,
    /// The condition without the tool conjuncts (evaluated when the tool is known to
    /// match; the whole condition for a rule that is not indexed).
    rest: Expression,
    /// The natively compiled form of `rest`, when the native evaluator covers it.
    native: Option<crate::policy::eval::Program>,
    /// Tool-name prefixes from a top-level conjunct `action.tool.startsWith("p")` (or an
    /// `||` of them): a tool starting with none of them cannot match, so the rule is
    /// skipped without evaluating it (`false && x` is false even when `x` errors).
    prefixes: Option<Vec<Box<str>>>,
}

impl Rule {
    /// The rule's id, unique within its policy.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The effect when the condition holds.
    pub fn effect(&self) -> Effect {
        self.effect
    }
    /// The effect when the condition errors or is not a bool.
    pub fn on_error(&self) -> Effect {
        self.on_error
    }
    /// The human-readable reason, if any.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
    /// Who may approve when the effect is `require_approval` (`role:lead`, `user:alice`).
    pub fn approvers(&self) -> impl Iterator<Item = &str> {
        self.approvers.iter().map(|a| &**a)
    }
    /// How many distinct approvers must approve (at least 1).
    pub fn quorum(&self) -> u32 {
        self.quorum
    }
    /// Seconds an approval request (and the grant it becomes) stays valid, if limited.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }
    /// The condition under which approval is granted automatically, if any.
    pub fn auto_approve(&self) -> Option<&Condition> {
        self.auto_approve.as_ref()
    }
    /// Who may override this rule's deny (break-glass), with a reason.
    pub fn overridable_by(&self) -> impl Iterator<Item = &str> {
        self.overridable_by.iter().map(|a| &**a)
    }
    pub(crate) fn id_arc(&self) -> &Arc<str> {
        &self.id
    }
    pub(crate) fn reason_arc(&self) -> Option<&Arc<str>> {
        self.reason.as_ref()
    }
    pub(crate) fn approvers_arc(&self) -> &[Arc<str>] {
        &self.approvers
    }
    /// The CEL condition as written.
    pub fn when(&self) -> &str {
        &self.when
    }
    /// The line the rule starts on in its source (0 if unknown).
    pub fn line(&self) -> u64 {
        self.line
    }
    /// Whether a top-level tool-prefix conjunct rules out `tool` (the rule cannot match).
    pub(crate) fn ruled_out(&self, tool: &str) -> bool {
        self.prefixes
            .as_ref()
            .is_some_and(|ps| !ps.iter().any(|p| tool.starts_with(&**p)))
    }
    /// The tools the rule is limited to, if its condition names them at the top level.
    pub fn tools(&self) -> Option<&BTreeSet<String>> {
        self.tools.as_ref()
    }
    /// Whether the condition runs on LumenFlow's native evaluator (otherwise on the `cel`
    /// interpreter; both give the same answers).
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }
    pub(crate) fn rest(&self) -> &Expression {
        &self.rest
    }
    pub(crate) fn native(&self) -> Option<&crate::policy::eval::Program> {
        self.native.as_ref()
    }
}

/// A loaded, validated policy.
#[derive(Debug)]
pub struct Policy {
    name: Arc<str>,
    origin: String,
    digest: Arc<str>,
    default: Effect,
    on_error: Effect,
    may_loosen: Vec<Loosen>,
    rules: Vec<Rule>,
    budgets: Vec<crate::policy::budget::Budget>,
    by_tool: BTreeMap<Box<str>, Vec<usize>>,
    any_tool: Vec<usize>,
    document: serde_json::Value,
}

impl Policy {
    /// Loads a policy file; `.json` files are JSON, anything else YAML.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Policy::from_source(&text, Format::from_path(path), &path.display().to_string())
    }

    /// Loads a policy from YAML text; `origin` names it in diagnostics.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        Policy::from_source(text, Format::Yaml, origin)
    }

    /// Loads a policy from JSON text; `origin` names it in diagnostics.
    pub fn from_json(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        Policy::from_source(text, Format::Json, origin)
    }

    /// Loads a policy from text in the given format.
    pub fn from_source(text: &str, format: Format, origin: &str) -> Result<Policy, PolicyError> {
        let invalid = |d: Diagnostic| PolicyError::Invalid(vec![d]);
        if text.len() > MAX_POLICY_BYTES {
            return Err(invalid(Diagnostic::new(
                origin,
                format!(
                    "policy is {} bytes, more than the limit of {MAX_POLICY_BYTES}",
                    text.len()
                ),
            )));
        }
        if format == Format::Json {
            // JSON's own parser gives JSON-accurate syntax errors; the schema is then read
            // with the YAML reader (JSON is YAML 1.2), which knows where every value is.
            serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
                invalid(
                    Diagnostic::new(
                        origin,
                        format!("invalid JSON: {}", strip_location(&e.to_string())),
                    )
                    .at(e.line() as u64, e.column() as u64),
                )
            })?;
        }
        // The reader's defaults reject duplicate keys and bound the work an input can cause.
        let doc: PolicyDoc =
            serde_saphyr::from_str(text).map_err(|e| invalid(saphyr_diagnostic(origin, &e)))?;
        let document: serde_json::Value =
            serde_saphyr::from_str(text).map_err(|e| invalid(saphyr_diagnostic(origin, &e)))?;
        compile(doc, document, text, origin)
    }

    /// The budgets the policy defines.
    pub fn budgets(&self) -> &[crate::policy::budget::Budget] {
        &self.budgets
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }
    pub(crate) fn digest_arc(&self) -> &Arc<str> {
        &self.digest
    }
    /// Where it was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// `sha256:<hex>` of the policy document's RFC 8785 canonical JSON form: equal for a
    /// YAML policy and the same document written as JSON, whatever the layout or comments.
    pub fn digest(&self) -> &str {
        &self.digest
    }
    /// The effect when no rule matches.
    pub fn default_effect(&self) -> Effect {
        self.default
    }
    /// The default `on_error` effect of its rules.
    pub fn on_error(&self) -> Effect {
        self.on_error
    }
    /// What later layers may loosen.
    pub fn may_loosen(&self) -> &[Loosen] {
        &self.may_loosen
    }
    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// The policy document as JSON.
    pub fn document(&self) -> &serde_json::Value {
        &self.document
    }

    /// Indices of the rules that may match `tool`, in file order.
    pub(crate) fn candidates(&self, tool: &str) -> Candidates<'_> {
        Candidates {
            a: self.by_tool.get(tool).map_or(&[][..], Vec::as_slice),
            b: &self.any_tool,
        }
    }
}

/// Merges two ascending index lists.
pub(crate) struct Candidates<'a> {
    a: &'a [usize],
    b: &'a [usize],
}

impl Iterator for Candidates<'_> {
    type Item = (usize, bool);
    /// The next rule index, and whether the tool index already proved its tool conjunct.
    fn next(&mut self) -> Option<(usize, bool)> {
        match (self.a.first(), self.b.first()) {
            (Some(&x), Some(&y)) if x < y => {
                self.a = &self.a[1..];
                Some((x, true))
            }
            (_, Some(&y)) => {
                self.b = &self.b[1..];
                Some((y, false))
            }
            (Some(&x), None) => {
                self.a = &self.a[1..];
                Some((x, true))
            }
            (None, None) => None,
        }
    }
}

fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The YAML reader's message on one line, without its own `error: line L column C:`
/// prefix (the diagnostic carries the location).
pub(crate) fn reader_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    match rest.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((loc, msg)) if loc.contains(" column ") => msg.to_owned(),
        _ => rest.to_owned(),
    }
}

/// The YAML reader's error as a diagnostic at its line and column.
pub(crate) fn saphyr_diagnostic(origin: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let d = Diagnostic::new(origin, reader_message(e));
    match e.location() {
        Some(l) => d.at(l.line(), l.column()),
        None => d,
    }
}

fn compile(
    doc: PolicyDoc,
    document: serde_json::Value,
    text: &str,
    origin: &str,
) -> Result<Policy, PolicyError> {
    let mut diags = Vec::new();
    let at = |msg: String, loc: &serde_saphyr::Location| {
        Diagnostic::new(origin, msg).at(loc.line(), loc.column())
    };
    if doc.version.value != FORMAT_VERSION {
        diags.push(
            at(
                format!(
                    "unsupported policy version {} (this build reads version {FORMAT_VERSION})",
                    doc.version.value
                ),
                &doc.version.referenced,
            )
            .in_field("version"),
        );
    }
    if doc.name.value.trim().is_empty() {
        diags.push(at("name must not be empty".into(), &doc.name.referenced).in_field("name"));
    }
    let default = doc.default.as_ref().map_or(Effect::Deny, |d| d.value);
    let on_error = match &doc.on_error {
        Some(e) if e.value == Effect::Allow => {
            diags.push(
                at(
                    "a policy-wide `on_error: allow` is not accepted: an evaluation error may only allow where a rule says so itself".into(),
                    &e.referenced,
                )
                .in_field("on_error"),
            );
            Effect::Deny
        }
        Some(e) => e.value,
        None => Effect::Deny,
    };
    if doc.rules.len() > MAX_RULES {
        diags.push(Diagnostic::new(
            origin,
            format!(
                "{} rules, more than the limit of {MAX_RULES}",
                doc.rules.len()
            ),
        ));
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rules = Vec::with_capacity(doc.rules.len());
    for r in doc.rules {
        let id = r.id.value.clone();
        let rule_line = r.id.referenced.line();
        let before = diags.len();
        if id.trim().is_empty() {
            diags.push(at("rule id must not be empty".into(), &r.id.referenced).in_field("id"));
        } else if let Some(first) = seen.get(&id) {
            diags.push(
                at(
                    format!("duplicate rule id (first defined on line {first})"),
                    &r.id.referenced,
                )
                .in_rule(&id)
                .in_field("id"),
            );
        } else {
            seen.insert(id.clone(), rule_line);
        }
        if r.effect.value != Effect::RequireApproval && !r.approvers.is_empty() {
            diags.push(
                at(
                    "approvers are only meaningful with effect require_approval".into(),
                    &r.effect.referenced,
                )
                .in_rule(&id)
                .in_field("approvers"),
            );
        }
        let approval_only = |field: &str, loc: &serde_saphyr::Location| {
            at(
                format!("{field} is only meaningful with effect require_approval"),
                loc,
            )
            .in_rule(&id)
            .in_field(field)
        };
        let is_approval = r.effect.value == Effect::RequireApproval;
        let quorum = match &r.quorum {
            Some(q) if !is_approval => {
                diags.push(approval_only("quorum", &q.referenced));
                1
            }
            Some(q) if q.value == 0 => {
                diags.push(
                    at("quorum must be at least 1".into(), &q.referenced)
                        .in_rule(&id)
                        .in_field("quorum"),
                );
                1
            }
            Some(q) => q.value,
            None => 1,
        };
        let expires_in = match &r.expires_in {
            Some(e) if !is_approval => {
                diags.push(approval_only("expires_in", &e.referenced));
                None
            }
            other => duration_field(other.as_ref(), &mut diags, |msg, loc| {
                at(msg, loc).in_rule(&id).in_field("expires_in")
            }),
        };
        let auto_approve = match &r.auto_approve {
            Some(a) if !is_approval => {
                diags.push(approval_only("auto_approve", &a.referenced));
                None
            }
            Some(a) => match compile_condition(a, &lines, origin, Some(&id), "auto_approve") {
                Ok(c) => Some(c),
                Err(mut d) => {
                    diags.append(&mut d);
                    None
                }
            },
            None => None,
        };
        if r.effect.value != Effect::Deny && !r.overridable_by.is_empty() {
            diags.push(
                at(
                    "overridable_by is only meaningful with effect deny".into(),
                    &r.effect.referenced,
                )
                .in_rule(&id)
                .in_field("overridable_by"),
            );
        }
        let compiled = compile_expression(&r.when.value).map_err(|errs| {
            errs.into_iter()
                .map(|(l, c, msg)| {
                    let (fl, fc) = file_position(&lines, &r.when.referenced, &r.when.value, l, c);
                    Diagnostic::new(origin, msg)
                        .at(fl, fc)
                        .in_rule(&id)
                        .in_field("when")
                })
                .collect::<Vec<_>>()
        });
        match compiled {
            Ok((tools, rest)) if diags.len() == before => rules.push(Rule {
                id: id.into(),
                effect: r.effect.value,
                on_error: r.on_error.as_ref().map_or(on_error, |e| e.value),
                reason: r.reason.map(Into::into),
                approvers: r.approvers.into_iter().map(Into::into).collect(),
                quorum,
                expires_in,
                auto_approve,
                overridable_by: r.overridable_by.into_iter().map(Into::into).collect(),
                when: r.when.value,
                line: rule_line,
                prefixes: tool_prefixes(&rest),
                tools,
                native: crate::policy::eval::compile(&rest),
                rest,
            }),
            Ok(_) => {}
            Err(mut d) => diags.append(&mut d),
        }
    }
    let budgets = compile_budgets(doc.budgets, &lines, origin, &mut diags);
    if !diags.is_empty() {
        return Err(PolicyError::Invalid(diags));
    }
    let digest = canonical::digest(&document).map_err(|e| {
        PolicyError::Invalid(vec![Diagnostic::new(
            origin,
            format!("cannot canonicalise policy: {e}"),
        )])
    })?;
    let mut by_tool: BTreeMap<Box<str>, Vec<usize>> = BTreeMap::new();
    let mut any_tool = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        match &r.tools {
            Some(tools) => tools
                .iter()
                .for_each(|t| by_tool.entry(t.as_str().into()).or_default().push(i)),
            None => any_tool.push(i),
        }
    }
    Ok(Policy {
        name: doc.name.value.into(),
        origin: origin.to_owned(),
        digest: digest.into(),
        default,
        on_error,
        may_loosen: doc.may_loosen,
        rules,
        budgets,
        by_tool,
        any_tool,
        document,
    })
}

/// Parses a duration such as `30m`, `24h`, `7d` or `1h 30m` into whole seconds.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if d.as_secs() > MAX_DURATION_SECS => Err(format!(
            "duration `{s}` is longer than the longest allowed, 100 years"
        )),
        Ok(d) if d.as_secs() > 0 => Ok(d.as_secs()),
        Ok(_) => Err(format!("duration `{s}` must be at least one second")),
        Err(e) => Err(format!(
            "`{s}` is not a duration (like 90s, 30m, 24h, 7d): {e}"
        )),
    }
}

/// An optional duration field in seconds; a bad one is reported through `diag`.
fn duration_field(
    field: Option<&Spanned<String>>,
    diags: &mut Vec<Diagnostic>,
    diag: impl FnOnce(String, &serde_saphyr::Location) -> Diagnostic,
) -> Option<u64> {
    let f = field?;
    match parse_duration(&f.value) {
        Ok(secs) => Some(secs),
        Err(msg) => {
            diags.push(diag(msg, &f.referenced));
            None
        }
    }
}

/// Compiles a whole CEL expression (no tool index) with diagnostics pointing into the file.
fn compile_condition(
    src: &Spanned<String>,
    lines: &[&str],
    origin: &str,
    rule: Option<&str>,
    field: &str,
) -> Result<Condition, Vec<Diagnostic>> {
    match checked_program(&src.value) {
        Ok(expr) => Ok(Condition {
            source: src.value.clone(),
            native: crate::policy::eval::compile(&expr),
            expr,
        }),
        Err(errs) => Err(errs
            .into_iter()
            .map(|(l, c, msg)| {
                let (fl, fc) = file_position(lines, &src.referenced, &src.value, l, c);
                let d = Diagnostic::new(origin, msg).at(fl, fc).in_field(field);
                match rule {
                    Some(r) => d.in_rule(r),
                    None => d,
                }
            })
            .collect()),
    }
}

fn compile_budgets(
    docs: Vec<BudgetDoc>,
    lines: &[&str],
    origin: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<crate::policy::budget::Budget> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for b in docs {
        let id = b.id.value.clone();
        let before = diags.len();
        let at = |msg: String, loc: &serde_saphyr::Location, field: &str| {
            Diagnostic::new(origin, msg)
                .at(loc.line(), loc.column())
                .in_rule(&format!("budget {id}"))
                .in_field(field)
        };
        if id.trim().is_empty() {
            diags.push(at(
                "budget id must not be empty".into(),
                &b.id.referenced,
                "id",
            ));
        } else if let Some(first) = seen.get(&id) {
            diags.push(at(
                format!("duplicate budget id (first defined on line {first})"),
                &b.id.referenced,
                "id",
            ));
        } else {
            seen.insert(id.clone(), b.id.referenced.line());
        }
        let limit = b.limit.value;
        if !(limit.is_finite() && limit > 0.0) {
            diags.push(at(
                format!("limit must be a positive number, not {limit}"),
                &b.limit.referenced,
                "limit",
            ));
        }
        let warn_at = match &b.warn_at {
            Some(w) if !(w.value > 0.0 && w.value <= 1.0) => {
                diags.push(at(
                    format!(
                        "warn_at is a fraction of the limit, above 0 and at most 1, not {}",
                        w.value
                    ),
                    &w.referenced,
                    "warn_at",
                ));
                None
            }
            Some(w) => Some(w.value),
            None => None,
        };
        let on_exceed = match &b.on_exceed {
            Some(e) if e.value == Effect::Allow => {
                diags.push(at(
                    "on_exceed must be deny or require_approval".into(),
                    &e.referenced,
                    "on_exceed",
                ));
                Effect::Deny
            }
            Some(e) => e.value,
            None => Effect::Deny,
        };
        let window = duration_field(b.window.as_ref(), diags, |m, loc| at(m, loc, "window"));
        let expires_in = duration_field(b.expires_in.as_ref(), diags, |m, loc| {
            at(m, loc, "expires_in")
        });
        let quorum = match &b.quorum {
            Some(q) if q.value == 0 => {
                diags.push(at(
                    "quorum must be at least 1".into(),
                    &q.referenced,
                    "quorum",
                ));
                1
            }
            Some(q) => q.value,
            None => 1,
        };
        if on_exceed != Effect::RequireApproval
            && (!b.approvers.is_empty() || b.quorum.is_some() || b.expires_in.is_some())
        {
            diags.push(at(
                "approvers, quorum and expires_in are only meaningful with on_exceed: require_approval".into(),
                &b.id.referenced,
                "on_exceed",
            ));
        }
        let charge = compile_condition(
            &b.charge,
            lines,
            origin,
            Some(&format!("budget {id}")),
            "charge",
        );
        match charge {
            Ok(charge) if diags.len() == before => out.push(crate::policy::budget::Budget {
                id: id.into(),
                per: b.per.value,
                limit,
                unit: b.unit.unwrap_or_default().into(),
                window,
                charge,
                warn_at,
                on_exceed,
                approvers: b.approvers.into_iter().map(Into::into).collect(),
                quorum,
                expires_in,
            }),
            Ok(_) => {}
            Err(mut d) => diags.append(&mut d),
        }
    }
    out
}

/// Maps a (line, column) inside an expression to the policy file, for plain, quoted and
/// block scalars. Falls back to the expression's own start.
fn file_position(
    lines: &[&str],
    start: &serde_saphyr::Location,
    expr: &str,
    line: u64,
    col: u64,
) -> (u64, u64) {
    let (sl, sc) = (start.line(), start.column());
    let Some(first) = sl.checked_sub(1).and_then(|i| lines.get(i as usize)) else {
        return (sl, sc);
    };
    let indicator = first.chars().nth(sc.saturating_sub(1) as usize);
    if expr.trim_end().contains('\n') {
        // A block scalar's location is its first content line; later lines keep its indent.
        return (
            sl + line.saturating_sub(1),
            sc.saturating_sub(1) + col.max(1),
        );
    }
    match indicator {
        Some('"') | Some('\'') => (sl, sc + col.max(1)),
        _ => (sl, sc + col.max(1) - 1),
    }
}

type Compiled = (Option<BTreeSet<String>>, Expression);

/// Compiles and checks one expression; errors are (line, column, message) inside it.
fn compile_expression(src: &str) -> Result<Compiled, Vec<(u64, u64, String)>> {
    checked_program(src).map(|e| split_tools(&e))
}

/// Parses and checks one expression; errors are (line, column, message) inside it.
fn checked_program(src: &str) -> Result<Expression, Vec<(u64, u64, String)>> {
    checked_program_with(src, &[])
}

/// Parses and checks one expression that may also read the variables `extra` (the
/// conformance suite's bindings); errors are (line, column, message) inside it.
pub(crate) fn checked_program_with(
    src: &str,
    extra: &[&str],
) -> Result<Expression, Vec<(u64, u64, String)>> {
    checked_program_in(src, extra, "")
}

/// [`checked_program_with`], the names resolved in `container` as CEL defines it (`y`
/// also names `container.y`; `.y` names `y` only) and qualified variable names (`a.b`)
/// allowed among `extra`. Only the conformance suite declares such variables: rules
/// see `action` and `context`, and have no container.
pub(crate) fn checked_program_in(
    src: &str,
    extra: &[&str],
    container: &str,
) -> Result<Expression, Vec<(u64, u64, String)>> {
    if src.len() > MAX_EXPRESSION_BYTES {
        return Err(vec![(
            1,
            1,
            format!(
                "expression is {} bytes, more than the limit of {MAX_EXPRESSION_BYTES}",
                src.len()
            ),
        )]);
    }
    if src.trim().is_empty() {
        return Err(vec![(1, 1, "condition is empty".into())]);
    }
    if let Some((line, col)) = too_deep(src) {
        return Err(vec![(
            line,
            col,
            format!("expression nests deeper than {MAX_EXPRESSION_DEPTH} levels"),
        )]);
    }
    let parsed = std::panic::catch_unwind(|| crate::policy::cel_ext::compile(src));
    let program = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            let mut out: Vec<(u64, u64, String)> = Vec::new();
            for pe in &e.errors {
                let detail = pe.msg.strip_prefix("Syntax error: ").unwrap_or(&pe.msg);
                let msg = crate::error::bound(format!("CEL syntax error: {detail}"));
                if out.iter().any(|(_, _, m)| *m == msg) {
                    continue;
                }
                out.push((pe.pos.0.max(1) as u64, pe.pos.1.max(1) as u64, msg));
                if out.len() == 3 {
                    break;
                }
            }
            if out.is_empty() {
                out.push((1, 1, "CEL syntax error".into()));
            }
            return Err(out);
        }
        Err(_) => return Err(vec![(1, 1, "CEL parser failed on this expression".into())]),
    };
    let mut errs = Vec::new();
    let mut scope: Vec<String> = Vec::new();
    for v in extra {
        scope.push(v.to_string());
        // `.v` is the absolute name of `v`.
        scope.push(format!(".{v}"));
        // In container `a.b`, `a.b.v` and `a.v` are also named `v`.
        let mut c = container;
        while !c.is_empty() {
            if let Some(rest) = v.strip_prefix(c).and_then(|r| r.strip_prefix('.')) {
                scope.push(rest.to_string());
            }
            c = c.rsplit_once('.').map_or("", |(head, _)| head);
        }
    }
    check_refs(&program.expr, &mut scope, &mut errs);
    if !errs.is_empty() {
        let info = &program.info;
        return Err(errs
            .into_iter()
            .take(5)
            .map(|(id, msg)| {
                let (l, c) = info
                    .offset_for(id)
                    .map_or((1, 1), |(start, _)| line_col(src, start as usize));
                (l, c, msg)
            })
            .collect());
    }
    Ok(program.expr)
}

fn line_col(src: &str, offset: usize) -> (u64, u64) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

/// Finds where an expression nests too deep (brackets, unary runs, conditionals), by a
/// lexical scan that skips string literals. The CEL parser recurses on each of these.
fn too_deep(src: &str) -> Option<(u64, u64)> {
    let mut depth = 0usize;
    let mut unary = 0usize;
    let mut ternary = 0usize;
    let mut chars = src.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let over = |n: usize| n > MAX_EXPRESSION_DEPTH;
        match c {
            '"' | '\'' => {
                // Skip the literal (triple quotes end at the same triple; escapes skip a char).
                let triple = src[i..].starts_with(&format!("{c}{c}{c}"));
                if triple {
                    chars.next();
                    chars.next();
                }
                while let Some((j, d)) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c && (!triple || src[j..].starts_with(&format!("{c}{c}{c}"))) {
                        if triple {
                            chars.next();
                            chars.next();
                        }
                        break;
                    }
                }
                unary = 0;
            }
            '(' | '[' | '{' => {
                depth += 1;
                unary = 0;
                if over(depth) {
                    return Some(line_col(src, i));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '!' | '-' => {
                unary += 1;
                if over(unary) {
                    return Some(line_col(src, i));
                }
            }
            '?' => {
                ternary += 1;
                if over(ternary) {
                    return Some(line_col(src, i));
                }
            }
            c if c.is_whitespace() => {}
            _ => unary = 0,
        }
    }
    None
}

/// Checks identifiers, `action` fields and LumenFlow function names; collects
/// (expression id, message).
fn check_refs(e: &Expression, scope: &mut Vec<String>, errs: &mut Vec<(u64, String)>) {
    let in_scope = |scope: &Vec<String>, name: &str| scope.iter().any(|s| s == name);
    match &e.expr {
        Expr::Ident(name) => {
            if !in_scope(scope, name)
                && !VARIABLES.contains(&name.as_str())
                && !crate::policy::cel_ext::known::is_type_name(name)
            {
                let msg = if NAMESPACES.contains(&name.as_str()) {
                    format!(
                        "`{name}` is a namespace of functions (e.g. {}(...)), not a variable",
                        FUNCTIONS
                            .iter()
                            .find(|f| f.starts_with(&format!("{name}.")))
                            .copied()
                            .unwrap_or(name)
                    )
                } else {
                    format!("unknown variable `{name}`: rules see `action` and `context`")
                };
                errs.push((e.id, msg));
            }
        }
        Expr::Select(sel) if !sel.test && qualified_type(e, scope) => {}
        // A qualified variable (`a.b.c` declared as `a.b.c` or `a.b`): declared names
        // only ever hold a dot when the conformance suite declares them.
        Expr::Select(_) if qualified_variable(e, scope) => {}
        Expr::Select(sel) => {
            // action.<field>[.<field>]: check the fields against the action schema.
            let mut chain = vec![sel.field.as_str()];
            let mut op = &sel.operand;
            while let Expr::Select(inner) = &op.expr {
                chain.push(inner.field.as_str());
                op = &inner.operand;
            }
            if matches!(&op.expr, Expr::Ident(n) if n == "action" && !in_scope(scope, "action")) {
                chain.reverse();
                if !ACTION_FIELDS.contains(&chain[0]) {
                    errs.push((
                        e.id,
                        format!(
                            "`action` has no field `{}` (it has {})",
                            chain[0],
                            ACTION_FIELDS.join(", ")
                        ),
                    ));
                } else if chain[0] == "actor"
                    && chain.len() > 1
                    && !ACTOR_FIELDS.contains(&chain[1])
                {
                    errs.push((
                        e.id,
                        format!(
                            "`action.actor` has no field `{}` (it has {})",
                            chain[1],
                            ACTOR_FIELDS.join(", ")
                        ),
                    ));
                } else if chain[0] == "tool" && chain.len() > 1 {
                    errs.push((e.id, "`action.tool` is a string and has no fields".into()));
                }
                return;
            }
            check_refs(&sel.operand, scope, errs);
        }
        Expr::Call(CallExpr {
            func_name,
            target,
            args,
        }) => {
            match target.as_deref() {
                Some(Expression {
                    expr: Expr::Ident(ns),
                    id,
                }) if NAMESPACES.contains(&ns.as_str()) && !in_scope(scope, ns) => {
                    let full = format!("{ns}.{func_name}");
                    if FUNCTIONS.contains(&full.as_str()) {
                        if let Err(m) =
                            crate::policy::cel_ext::known::check_call(&full, false, args.len())
                        {
                            errs.push((e.id, m));
                        }
                    } else {
                        errs.push((
                            *id,
                            format!(
                                "unknown function `{full}` (the {ns} functions are {})",
                                FUNCTIONS
                                    .iter()
                                    .filter(|f| f.starts_with(&format!("{ns}.")))
                                    .copied()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                }
                Some(Expression {
                    expr: Expr::Ident(ns),
                    ..
                }) if crate::policy::cel_ext::known::is_namespace(ns) && !in_scope(scope, ns) => {
                    let full = format!("{ns}.{func_name}");
                    if let Err(m) =
                        crate::policy::cel_ext::known::check_call(&full, false, args.len())
                    {
                        errs.push((e.id, m));
                    }
                }
                Some(t) => {
                    check_refs(t, scope, errs);
                    if let Err(m) =
                        crate::policy::cel_ext::known::check_call(func_name, true, args.len())
                    {
                        errs.push((e.id, m));
                    }
                }
                None => {
                    if let Err(m) =
                        crate::policy::cel_ext::known::check_call(func_name, false, args.len())
                    {
                        errs.push((e.id, m));
                    }
                }
            }
            for a in args {
                check_refs(a, scope, errs);
            }
        }
        Expr::Comprehension(c) => {
            check_refs(&c.iter_range, scope, errs);
            let n = scope.len();
            scope.push(c.accu_var.clone());
            check_refs(&c.accu_init, scope, errs);
            scope.push(c.iter_var.clone());
            if let Some(v2) = &c.iter_var2 {
                scope.push(v2.clone());
            }
            check_refs(&c.loop_cond, scope, errs);
            check_refs(&c.loop_step, scope, errs);
            check_refs(&c.result, scope, errs);
            scope.truncate(n);
        }
        Expr::List(l) => l.elements.iter().for_each(|x| check_refs(x, scope, errs)),
        Expr::Map(m) => m.entries.iter().for_each(|x| match &x.expr {
            EntryExpr::MapEntry(me) => {
                check_refs(&me.key, scope, errs);
                check_refs(&me.value, scope, errs);
            }
            EntryExpr::StructField(f) => check_refs(&f.value, scope, errs),
        }),
        Expr::Struct(s) => s.entries.iter().for_each(|x| match &x.expr {
            EntryExpr::MapEntry(me) => {
                check_refs(&me.key, scope, errs);
                check_refs(&me.value, scope, errs);
            }
            EntryExpr::StructField(f) => check_refs(&f.value, scope, errs),
        }),
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// Whether `e`, a chain of selections, starts with a declared qualified variable name.
fn qualified_variable(e: &Expression, scope: &[String]) -> bool {
    let Some((_, full)) = crate::policy::cel_ext::known::qualified_name(e) else {
        return false;
    };
    let mut name = full.as_str();
    while let Some((head, _)) = name.rsplit_once('.') {
        if scope.iter().any(|v| v == name) {
            return true;
        }
        name = head;
    }
    false
}

/// Whether `e` is a qualified type name (`net.IP`) whose first part is not a variable.
fn qualified_type(e: &Expression, scope: &[String]) -> bool {
    match crate::policy::cel_ext::known::qualified_name(e) {
        Some((root, full)) => {
            !scope.iter().any(|v| v == root)
                && !VARIABLES.contains(&root)
                && crate::policy::cel_ext::known::is_type_name(&full)
        }
        None => false,
    }
}

fn conjuncts<'a>(e: &'a Expression, out: &mut Vec<&'a Expression>) {
    match &e.expr {
        Expr::Call(c) if c.func_name == "_&&_" && c.target.is_none() && c.args.len() == 2 => {
            conjuncts(&c.args[0], out);
            conjuncts(&c.args[1], out);
        }
        _ => out.push(e),
    }
}

fn is_action_tool(e: &Expression) -> bool {
    matches!(&e.expr, Expr::Select(s) if !s.test && s.field == "tool" && matches!(&s.operand.expr, Expr::Ident(n) if n == "action"))
}

fn string_literal(e: &Expression) -> Option<String> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
        _ => None,
    }
}

/// The tools a conjunct limits the rule to: `action.tool == "x"`, `"x" == action.tool`,
/// `action.tool in ["x", "y"]`.
fn tool_constraint(e: &Expression) -> Option<BTreeSet<String>> {
    let Expr::Call(c) = &e.expr else { return None };
    if c.target.is_some() || c.args.len() != 2 {
        return None;
    }
    match c.func_name.as_str() {
        "_==_" => {
            let (a, b) = (&c.args[0], &c.args[1]);
            let lit = if is_action_tool(a) {
                string_literal(b)
            } else if is_action_tool(b) {
                string_literal(a)
            } else {
                None
            }?;
            Some(BTreeSet::from([lit]))
        }
        "@in" if is_action_tool(&c.args[0]) => match &c.args[1].expr {
            Expr::List(l) if l.optional_indices.is_empty() => {
                l.elements.iter().map(string_literal).collect()
            }
            _ => None,
        },
        _ => None,
    }
}

/// The tool-name prefixes a top-level conjunct limits a condition to:
/// `action.tool.startsWith("mcp:")`, or an `||` of such calls (`None` if no conjunct is
/// of that form). The conjunct stays in the condition; this only lets a rule be skipped.
fn tool_prefixes(e: &Expression) -> Option<Vec<Box<str>>> {
    fn prefixes(e: &Expression, out: &mut Vec<Box<str>>) -> bool {
        match &e.expr {
            Expr::Call(c) if c.func_name == "_||_" && c.target.is_none() && c.args.len() == 2 => {
                prefixes(&c.args[0], out) && prefixes(&c.args[1], out)
            }
            Expr::Call(c)
                if c.func_name == "startsWith"
                    && c.args.len() == 1
                    && c.target.as_deref().is_some_and(is_action_tool) =>
            {
                match string_literal(&c.args[0]) {
                    Some(p) => {
                        out.push(p.into());
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
    let mut parts = Vec::new();
    conjuncts(e, &mut parts);
    parts.into_iter().find_map(|p| {
        let mut out = Vec::new();
        prefixes(p, &mut out).then_some(out)
    })
}

/// Splits a condition into the tools its top-level conjuncts limit it to, and the
/// condition that remains. `a && b` is false whenever either side is false, even if the
/// other errors, so skipping a rule whose tool conjunct is false is exact.
fn split_tools(e: &Expression) -> (Option<BTreeSet<String>>, Expression) {
    let mut parts = Vec::new();
    conjuncts(e, &mut parts);
    let mut tools: Option<BTreeSet<String>> = None;
    let mut rest: Vec<&Expression> = Vec::new();
    for p in parts {
        match tool_constraint(p) {
            Some(t) => {
                tools = Some(match tools {
                    None => t,
                    Some(prev) => prev.intersection(&t).cloned().collect(),
                })
            }
            None => rest.push(p),
        }
    }
    if tools.is_none() {
        return (None, e.clone());
    }
    let rest = rest.into_iter().cloned().reduce(|acc, x| Expression {
        id: x.id,
        expr: Expr::Call(CallExpr {
            func_name: "_&&_".into(),
            target: None,
            args: vec![acc, x],
        }),
    });
    let rest = rest.unwrap_or(Expression {
        id: e.id,
        expr: Expr::Literal(LiteralValue::Boolean(true.into())),
    });
    (tools, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(src: &str) -> Result<Policy, PolicyError> {
        Policy::from_yaml(src, "p.yaml")
    }

    fn errors(src: &str) -> Vec<String> {
        load(src)
            .unwrap_err()
            .diagnostics()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn loads_and_indexes() {
        let p = load("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: action.tool == 'bash' && action.args.command == 'x'\n  - id: b\n    effect: allow\n    when: action.tool in ['write', 'edit']\n  - id: c\n    effect: allow\n    when: action.session == 's'\n").unwrap();
        assert_eq!(
            p.rules()[0].tools().unwrap().iter().collect::<Vec<_>>(),
            ["bash"]
        );
        assert_eq!(p.rules()[1].tools().unwrap().len(), 2);
        assert!(p.rules()[2].tools().is_none());
        assert_eq!(
            p.candidates("bash").collect::<Vec<_>>(),
            [(0, true), (2, false)]
        );
        assert_eq!(
            p.candidates("edit").collect::<Vec<_>>(),
            [(1, true), (2, false)]
        );
        assert_eq!(p.candidates("other").collect::<Vec<_>>(), [(2, false)]);
        assert_eq!(p.default_effect(), Effect::Deny);
        assert!(p.digest().starts_with("sha256:"));
    }

    #[test]
    fn tool_prefix_conjuncts_rule_out_other_tools() {
        let p = load("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: action.tool.startsWith('mcp:') && action.args.x == 1\n  - id: b\n    effect: deny\n    when: (action.tool.startsWith('mcp__') || action.tool.startsWith('mcp:')) && true\n  - id: c\n    effect: deny\n    when: action.tool.startsWith('mcp:') || action.args.x == 1\n").unwrap();
        let (a, b, c) = (&p.rules()[0], &p.rules()[1], &p.rules()[2]);
        assert!(a.ruled_out("bash") && !a.ruled_out("mcp:fs/read") && a.ruled_out("mcp__x"));
        assert!(b.ruled_out("bash") && !b.ruled_out("mcp__x") && !b.ruled_out("mcp:y"));
        // Not a conjunct: `||` with another condition may still match any tool.
        assert!(!c.ruled_out("bash"));
    }

    #[test]
    fn yaml_and_json_share_digest() {
        let y = load("# c\nversion: 1\nname: t\nrules: []\n").unwrap();
        let j = Policy::from_json("{\"name\": \"t\", \"version\": 1, \"rules\": []}", "p.json")
            .unwrap();
        assert_eq!(y.digest(), j.digest());
        let other = load("version: 1\nname: u\nrules: []\n").unwrap();
        assert_ne!(y.digest(), other.digest());
    }

    #[test]
    fn reports_every_problem_with_location() {
        let e = errors("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: action.tol == 'x'\n  - id: a\n    effect: allow\n    when: 'foo > 1'\n  - id: c\n    effect: allow\n    when: action.tool ==\n");
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(
            e[0].starts_with("p.yaml:6:17: rule `a`: when: `action` has no field `tol`"),
            "{}",
            e[0]
        );
        assert!(
            e[1].starts_with(
                "p.yaml:7:9: rule `a`: id: duplicate rule id (first defined on line 4)"
            ),
            "{}",
            e[1]
        );
        assert!(
            e[2].starts_with("p.yaml:9:12: rule `a`: when: unknown variable `foo`"),
            "{}",
            e[2]
        );
        assert!(
            e[3].starts_with("p.yaml:12:") && e[3].contains("rule `c`: when: CEL syntax error"),
            "{}",
            e[3]
        );
    }

    #[test]
    fn schema_errors() {
        let e = errors("version: 1\nname: t\nrulez: []\n");
        assert!(
            e[0].contains("p.yaml:3:") && e[0].contains("rulez"),
            "{e:?}"
        );
        let e = errors(
            "version: 1\nname: t\nrules:\n  - id: a\n    effect: permit\n    when: 'true'\n",
        );
        assert!(
            e[0].contains("p.yaml:5:") && e[0].contains("permit"),
            "{e:?}"
        );
        let e = errors("version: 2\nname: t\n");
        assert!(e[0].contains("unsupported policy version 2"), "{e:?}");
        let e = errors("version: 1\nname: t\non_error: allow\n");
        assert!(e[0].contains("on_error: allow"), "{e:?}");
        let e = errors("version: 1\nname: t\nname: u\n");
        assert!(e[0].contains("p.yaml:3:"), "{e:?}");
        let e = errors("version: 1\nname: [\n");
        assert!(e[0].starts_with("p.yaml:"), "{e:?}");
        let e = Policy::from_json("{\"version\": 1,\n \"name\": }", "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.json:2:"), "{e}");
    }

    #[test]
    fn functions_and_variables_are_checked() {
        let e = errors("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: shell.run(action.args.command)\n");
        assert!(e[0].contains("unknown function `shell.run`"), "{e:?}");
        let e = errors("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: action.actor.name == 'x'\n");
        assert!(e[0].contains("`action.actor` has no field `name`"), "{e:?}");
        // Comprehension variables are in scope inside their macro only.
        assert!(load("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: action.actor.roles.exists(r, r == 'x')\n").is_ok());
        let e = errors("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: action.actor.roles.exists(r, r == 'x') || r == 'y'\n");
        assert!(e[0].contains("unknown variable `r`"), "{e:?}");
    }

    #[test]
    fn block_scalar_positions() {
        let e = errors("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: |\n      action.tool == 'x' &&\n        nope\n");
        assert!(
            e[0].starts_with("p.yaml:8:9: rule `a`: when: unknown variable `nope`"),
            "{e:?}"
        );
    }

    #[test]
    fn limits() {
        let deep = format!("{}true{}", "(".repeat(40), ")".repeat(40));
        let e = errors(&format!(
            "version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: '{deep}'\n"
        ));
        assert!(e[0].contains("nests deeper"), "{e:?}");
        let e = errors(&format!(
            "version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: '{}true'\n",
            "!".repeat(100)
        ));
        assert!(e[0].contains("nests deeper"), "{e:?}");
        let long = format!("'{}' == 'a'", "a".repeat(MAX_EXPRESSION_BYTES));
        let e = errors(&format!(
            "version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: \"{long}\"\n"
        ));
        assert!(e[0].contains("more than the limit"), "{e:?}");
        // A string literal full of brackets is not nesting.
        assert!(load(&format!("version: 1\nname: t\nrules:\n  - id: a\n    effect: deny\n    when: \"action.tool == '{}'\"\n", "(".repeat(100))).is_ok());
    }
}
