//! Deciding: evaluating an action against layered policies.
//!
//! Within one policy every rule whose condition holds is a match; the strictest effect
//! among the matches wins (deny > require_approval > allow), and with no match the
//! policy's default applies. A rule whose condition errors or is not a bool matches with
//! its `on_error` effect and the error is reported. Across layers (for example
//! organisation → team → task) a deny by any layer's rule always wins, a later layer may
//! always tighten, and it may loosen an earlier layer's outcome only where that earlier
//! policy opts in with `may_loosen`; an attempt that is refused is reported as a warning.
//! The normative description is `spec/decision.md`.

pub use super::effect::Effect;
use crate::action::{Action, Context, Limits};
use crate::policy::cel_value;
use crate::policy::file::{Loosen, Policy, Rule};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Where a decision's effect came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// One or more rules matched: a deny is "forbidden".
    Rule,
    /// No rule matched and a policy's default applied: a deny is "not permitted".
    Default,
    /// The action or context was rejected before any rule ran (always deny).
    InvalidInput,
    /// A budget's limit (or an error computing its charge) decided.
    Budget,
    /// Approval was required and an approved request for this exact action allowed it.
    Approval,
    /// Approval was required and every deciding rule's `auto_approve` condition held.
    AutoApproval,
    /// A deny was overridden (break-glass) by an authorised actor with a reason.
    Override,
}

/// The terms of an approval: what a `require_approval` decision asks for, or which
/// approval allowed an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalTerms {
    /// How many distinct approvers must approve.
    pub quorum: u32,
    /// Seconds the request (and its grant) stays valid, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// When the request expires (RFC 3339), set when it is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The approval request whose grant allowed this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The `auto_approve` conditions that approved it automatically.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub automatic: Vec<String>,
}

/// A rule, named by its policy and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// The policy's name.
    pub policy: Arc<str>,
    /// The rule's id.
    pub rule: Arc<str>,
}

/// A rule whose condition held (or errored, and so took its `on_error` effect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRule {
    /// The policy's name.
    pub policy: Arc<str>,
    /// The rule's id.
    pub rule: Arc<str>,
    /// The effect it contributed.
    pub effect: Effect,
    /// The rule's reason, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Arc<str>>,
    /// True if it matched because its condition failed (see `errors`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
}

/// A rule whose condition could not be evaluated to a bool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleError {
    /// The policy's name (empty for an error about the input itself).
    pub policy: Arc<str>,
    /// The rule's id (empty for an error about the input itself).
    pub rule: Arc<str>,
    /// What went wrong.
    pub message: String,
    /// The effect the rule took because of it.
    pub effect: Effect,
}

/// Something worth knowing about a decision that did not change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The policy the warning is about.
    pub policy: Arc<str>,
    /// The rules involved, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Arc<str>>,
    /// What happened.
    pub message: String,
}

/// A policy that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Its name.
    pub name: Arc<str>,
    /// Its digest (`sha256:...`).
    pub digest: Arc<str>,
}

/// The answer to "may this action run?", with everything that led to it.
/// Specified field by field in `spec/decision.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// allow, deny or require_approval.
    pub effect: Effect,
    /// Whether rules or a default decided.
    pub decided_by: DecidedBy,
    /// The rules that produced the effect (empty when a default decided).
    pub deciding_rules: Vec<RuleRef>,
    /// Every rule that matched, in layer then file order.
    pub matched: Vec<MatchedRule>,
    /// Every rule whose condition failed.
    pub errors: Vec<RuleError>,
    /// Refused loosening attempts and other notes.
    pub warnings: Vec<Warning>,
    /// The policies, in layer order, with their digests.
    pub policies: Vec<PolicyRef>,
    /// Who may approve, when the effect is require_approval (from the deciding rules).
    pub approvers: Vec<Arc<str>>,
    /// The approval terms (for require_approval) or the approval that allowed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalTerms>,
    /// What each budget made of the action (only for governed decisions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<crate::policy::budget::Charge>,
    /// A one-line explanation.
    pub reason: String,
    /// Time spent evaluating, in nanoseconds.
    pub eval_ns: u64,
}

impl Decision {
    /// True if the effect is allow.
    pub fn allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}

/// An ordered stack of policies (organisation → team → task) that decides actions.
///
/// Cheap to clone, `Send + Sync`, and meant to be shared by many threads.
#[derive(Debug, Clone)]
pub struct PolicySet {
    layers: Arc<[Arc<Policy>]>,
    limits: Limits,
}

fn root() -> &'static cel::Context<'static, 'static> {
    static ROOT: OnceLock<cel::Context<'static, 'static>> = OnceLock::new();
    ROOT.get_or_init(crate::policy::functions::root_context)
}

/// What one layer said.
struct LayerOutcome {
    layer: usize,
    effect: Effect,
    by_rule: bool,
    deciding: Vec<RuleRef>,
}

impl PolicySet {
    /// A set of one policy.
    pub fn single(policy: Policy) -> PolicySet {
        PolicySet::new(vec![policy])
    }

    /// Loads policy files as layers, in order: the set, or every file's error (not only
    /// the first), so an author sees all problems at once.
    pub fn from_files<P: AsRef<std::path::Path>>(
        paths: &[P],
    ) -> Result<PolicySet, Vec<crate::error::PolicyError>> {
        let mut errors = Vec::new();
        let mut layers = Vec::new();
        for p in paths {
            match Policy::from_file(p) {
                Ok(policy) => layers.push(policy),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(PolicySet::new(layers))
        } else {
            Err(errors)
        }
    }

    /// Layers in order, most general first. An empty set denies everything.
    pub fn new(layers: Vec<Policy>) -> PolicySet {
        PolicySet {
            layers: layers.into_iter().map(Arc::new).collect(),
            limits: Limits::default(),
        }
    }

    /// Layers that are already shared.
    pub fn from_shared(layers: Vec<Arc<Policy>>) -> PolicySet {
        PolicySet {
            layers: layers.into(),
            limits: Limits::default(),
        }
    }

    /// Replaces the input limits.
    pub fn with_limits(mut self, limits: Limits) -> PolicySet {
        self.limits = limits;
        self
    }

    /// The layers.
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.layers
    }

    /// The layers' names and digests, in order (as decisions record them).
    pub fn refs(&self) -> Vec<PolicyRef> {
        self.layers
            .iter()
            .map(|p| PolicyRef {
                name: p.name_arc().clone(),
                digest: p.digest_arc().clone(),
            })
            .collect()
    }

    /// The input limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decides an action. Never fails: invalid input, evaluation errors and an empty set
    /// all fail closed, and say why.
    pub fn decide(&self, action: &Action, context: &Context) -> Decision {
        let start = Instant::now();
        let mut d = Decision {
            effect: Effect::Deny,
            decided_by: DecidedBy::Default,
            deciding_rules: Vec::new(),
            matched: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            policies: self.refs(),
            approvers: Vec::new(),
            approval: None,
            budgets: Vec::new(),
            reason: String::new(),
            eval_ns: 0,
        };
        if let Err(e) = action
            .check(&self.limits)
            .and_then(|_| context.check(&self.limits))
        {
            d.decided_by = DecidedBy::InvalidInput;
            d.reason = format!("denied: {e}");
            d.errors.push(RuleError {
                policy: "".into(),
                rule: "".into(),
                message: e.to_string(),
                effect: Effect::Deny,
            });
            d.eval_ns = start.elapsed().as_nanos() as u64;
            return d;
        }
        if self.layers.is_empty() {
            d.reason = "not permitted: no policy is loaded".into();
            d.eval_ns = start.elapsed().as_nanos() as u64;
            return d;
        }
        let arenas = crate::policy::eval::Arenas::default();
        let native = crate::policy::eval::Scope::new(action, context, &arenas);
        let mut fallback = Fallback {
            action,
            context,
            scope: None,
        };
        let outcomes: Vec<LayerOutcome> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, p)| evaluate_layer(i, p, &action.tool, &native, &mut fallback, &mut d))
            .collect();
        self.combine(outcomes, &mut d);
        if d.effect == Effect::RequireApproval && d.decided_by == DecidedBy::Rule {
            self.approval_terms(&native, &mut fallback, &mut d);
        }
        if fallback.scope.take().is_some() {
            crate::helpers::shell::clear_cache();
        }
        d.eval_ns = start.elapsed().as_nanos() as u64;
        d
    }

    fn combine(&self, outcomes: Vec<LayerOutcome>, d: &mut Decision) {
        let mut cur: Option<LayerOutcome> = None;
        for o in outcomes {
            let Some(c) = cur.as_mut() else {
                cur = Some(o);
                continue;
            };
            if o.effect.strictness() > c.effect.strictness() {
                *c = o;
            } else if o.effect == c.effect {
                if o.by_rule {
                    if !c.by_rule {
                        *c = o;
                    } else {
                        c.deciding.extend(o.deciding);
                    }
                }
            } else if o.by_rule {
                // A later layer's rule would loosen the current outcome.
                let owner = &self.layers[c.layer];
                let opted_in = if c.by_rule {
                    c.effect == Effect::RequireApproval
                        && owner.may_loosen().contains(&Loosen::RequireApproval)
                } else {
                    owner.may_loosen().contains(&Loosen::Default)
                };
                if opted_in {
                    *c = o;
                } else {
                    d.warnings.push(Warning {
                        policy: self.layers[o.layer].name_arc().clone(),
                        rules: o.deciding.iter().map(|r| r.rule.clone()).collect(),
                        message: format!(
                            "would loosen {} ({}) of policy `{}` to {}; refused because `{}` does not allow it in may_loosen",
                            c.effect,
                            if c.by_rule { "by rule" } else { "its default" },
                            owner.name(),
                            o.effect,
                            owner.name()
                        ),
                    });
                }
            }
        }
        let Some(c) = cur else { return };
        d.effect = c.effect;
        d.decided_by = if c.by_rule {
            DecidedBy::Rule
        } else {
            DecidedBy::Default
        };
        d.deciding_rules = c.deciding.clone();
        if c.effect == Effect::RequireApproval {
            for r in &d.deciding_rules {
                if let Some(rule) = self.rule(&r.policy, &r.rule) {
                    for a in rule.approvers_arc() {
                        if !d.approvers.contains(a) {
                            d.approvers.push(a.clone());
                        }
                    }
                }
            }
        }
        d.reason = self.explain(&c, d);
    }

    /// Sets the approval terms of a require_approval decision by rules, and approves it
    /// automatically if every deciding rule has an `auto_approve` condition that holds.
    fn approval_terms<'a>(
        &'a self,
        native: &crate::policy::eval::Scope<'a>,
        fallback: &mut Fallback<'a>,
        d: &mut Decision,
    ) {
        let mut terms = ApprovalTerms {
            quorum: 1,
            expires_in: None,
            expires_at: None,
            request: None,
            automatic: Vec::new(),
        };
        let mut all_auto = true;
        for r in &d.deciding_rules {
            let Some(rule) = self.rule(&r.policy, &r.rule) else {
                all_auto = false;
                continue;
            };
            terms.quorum = terms.quorum.max(rule.quorum());
            if let Some(e) = rule.expires_in() {
                terms.expires_in = Some(terms.expires_in.map_or(e, |x| x.min(e)));
            }
            match rule.auto_approve() {
                Some(c) if all_auto => {
                    match evaluate_condition(c.native(), c.expr(), native, fallback) {
                        Ok(true) => terms.automatic.push(format!("{}: {}", r.rule, c.source())),
                        Ok(false) => all_auto = false,
                        Err(message) => {
                            all_auto = false;
                            d.errors.push(RuleError {
                                policy: r.policy.clone(),
                                rule: r.rule.clone(),
                                message: format!("auto_approve: {message}"),
                                effect: Effect::RequireApproval,
                            });
                        }
                    }
                }
                _ => all_auto = false,
            }
        }
        if all_auto && !terms.automatic.is_empty() {
            d.effect = Effect::Allow;
            d.decided_by = DecidedBy::AutoApproval;
            d.reason = format!(
                "allowed: approved automatically ({})",
                terms.automatic.join("; ")
            );
            d.approvers.clear();
            terms.quorum = 0;
            terms.expires_in = None;
        } else {
            terms.automatic.clear();
        }
        d.approval = Some(terms);
    }

    pub(crate) fn rule(&self, policy: &str, id: &str) -> Option<&Rule> {
        self.layers
            .iter()
            .filter(|p| p.name() == policy)
            .flat_map(|p| p.rules())
            .find(|r| r.id() == id)
    }

    fn explain(&self, c: &LayerOutcome, d: &Decision) -> String {
        let policy = self.layers[c.layer].name();
        let mut s = String::with_capacity(96);
        if !c.by_rule {
            s.push_str(match c.effect {
                Effect::Deny => "not permitted",
                Effect::Allow => "allowed",
                Effect::RequireApproval => "requires approval",
            });
            s.push_str(": no rule of policy `");
            s.push_str(policy);
            s.push_str("` matched and its default is ");
            s.push_str(c.effect.as_str());
            return s;
        }
        s.push_str(match c.effect {
            Effect::Deny => "forbidden",
            Effect::Allow => "allowed",
            Effect::RequireApproval => "requires approval",
        });
        let first = &d.deciding_rules[0];
        s.push_str(" by rule `");
        s.push_str(&first.rule);
        s.push_str("` of `");
        s.push_str(&first.policy);
        s.push('`');
        if d.deciding_rules.len() > 1 {
            s.push_str(&format!(" (and {} more)", d.deciding_rules.len() - 1));
        }
        let matched = d
            .matched
            .iter()
            .find(|m| m.policy == first.policy && m.rule == first.rule);
        if let Some(m) = matched {
            if m.error {
                if let Some(e) = d
                    .errors
                    .iter()
                    .find(|e| e.policy == m.policy && e.rule == m.rule)
                {
                    s.push_str(": condition failed: ");
                    s.push_str(&e.message);
                }
            } else if let Some(r) = &m.reason {
                s.push_str(": ");
                s.push_str(r);
            }
        }
        s
    }
}

/// The `cel` interpreter's scope, built only if a rule needs it.
struct Fallback<'a> {
    action: &'a Action,
    context: &'a Context,
    scope: Option<cel::Context<'a, 'a>>,
}

impl<'a> Fallback<'a> {
    fn scope(&mut self) -> &cel::Context<'a, 'a> {
        let (action, context) = (self.action, self.context);
        self.scope.get_or_insert_with(|| {
            crate::helpers::shell::clear_cache();
            let root: &'a cel::Context<'a, 'a> = root();
            let mut scope = root.new_inner_scope();
            scope.add_variable_as_val("action", cel_value::action(action));
            scope.add_variable_as_val("context", cel_value::context(context));
            scope
        })
    }
}

/// Evaluates one layer's candidate rules, recording matches and errors in `d`.
fn evaluate_layer<'a>(
    layer: usize,
    policy: &'a Policy,
    tool: &str,
    native: &crate::policy::eval::Scope<'a>,
    fallback: &mut Fallback<'a>,
    d: &mut Decision,
) -> LayerOutcome {
    let mut best: Option<Effect> = None;
    let mut hits: Vec<(usize, Effect)> = Vec::new();
    for (i, _) in policy.candidates(tool) {
        let rule = &policy.rules()[i];
        if rule.ruled_out(tool) {
            continue;
        }
        let result = evaluate_rule(rule, native, fallback);
        let failed = result.is_err();
        let effect = match result {
            Ok(true) => rule.effect(),
            Ok(false) => continue,
            Err(message) => {
                d.errors.push(RuleError {
                    policy: policy.name_arc().clone(),
                    rule: rule.id_arc().clone(),
                    message,
                    effect: rule.on_error(),
                });
                rule.on_error()
            }
        };
        d.matched.push(MatchedRule {
            policy: policy.name_arc().clone(),
            rule: rule.id_arc().clone(),
            effect,
            reason: rule.reason_arc().cloned(),
            error: failed,
        });
        hits.push((i, effect));
        if best.is_none_or(|b| effect.strictness() > b.strictness()) {
            best = Some(effect);
        }
    }
    match best {
        Some(effect) => LayerOutcome {
            layer,
            effect,
            by_rule: true,
            deciding: hits
                .into_iter()
                .filter(|(_, e)| *e == effect)
                .map(|(i, _)| RuleRef {
                    policy: policy.name_arc().clone(),
                    rule: policy.rules()[i].id_arc().clone(),
                })
                .collect(),
        },
        None => LayerOutcome {
            layer,
            effect: policy.default_effect(),
            by_rule: false,
            deciding: Vec::new(),
        },
    }
}

/// Evaluates a rule's condition to a bool; anything else is an error message.
fn evaluate_rule<'a>(
    rule: &'a Rule,
    native: &crate::policy::eval::Scope<'a>,
    fallback: &mut Fallback<'a>,
) -> Result<bool, String> {
    evaluate_condition(rule.native(), rule.rest(), native, fallback)
}

/// Evaluates an expression to any value with the `cel` interpreter (budget charges).
pub(crate) fn evaluate_value(
    expr: &cel::parser::Expression,
    action: &Action,
    context: &Context,
) -> Result<cel::Value, String> {
    let run = || {
        let mut fallback = Fallback {
            action,
            context,
            scope: None,
        };
        let r = fallback
            .scope()
            .resolve(expr)
            .map_err(|e| crate::error::bound(e.to_string()));
        crate::helpers::shell::clear_cache();
        r
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Err("evaluation panicked (reported as an error)".into()),
    }
}

/// Evaluates a condition to a bool, natively when compiled so; anything else is an error.
fn evaluate_condition<'a>(
    program: Option<&'a crate::policy::eval::Program>,
    expr: &'a cel::parser::Expression,
    native: &crate::policy::eval::Scope<'a>,
    fallback: &mut Fallback<'a>,
) -> Result<bool, String> {
    let run = || match program {
        Some(program) => program.evaluate(native),
        None => match fallback.scope().resolve(expr) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "condition evaluated to {} {}, not a bool",
                other.type_of(),
                crate::error::bound(format!("{}", cel_value::to_json(&other)))
            )),
            Err(e) => Err(crate::error::bound(e.to_string())),
        },
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r.map_err(crate::error::bound),
        Err(_) => Err("evaluation panicked (reported as an error, not allowed)".into()),
    }
}
