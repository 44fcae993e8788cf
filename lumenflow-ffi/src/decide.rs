//! Policies, actions, contexts and decisions, as foreign types.

use crate::error::{guard, LumenFlowError, Result};
use lumenflow_core as core;
use std::sync::Arc;

/// A loaded, validated policy (one layer).
#[derive(Debug, uniffi::Object)]
pub struct Policy(pub(crate) Arc<core::Policy>);

#[uniffi::export]
impl Policy {
    /// Loads a policy file (`.json` is JSON, anything else YAML). Errors name the file,
    /// rule, line and column.
    #[uniffi::constructor]
    pub fn from_file(path: String) -> Result<Arc<Policy>> {
        guard(|| Ok(Arc::new(Policy(Arc::new(core::Policy::from_file(&path)?)))))
    }

    /// Parses a policy from YAML text; `origin` names it in errors (a file name, say).
    #[uniffi::constructor]
    pub fn from_yaml(text: String, origin: String) -> Result<Arc<Policy>> {
        guard(|| {
            Ok(Arc::new(Policy(Arc::new(core::Policy::from_yaml(
                &text, &origin,
            )?))))
        })
    }

    /// Parses a policy from JSON text; `origin` names it in errors.
    #[uniffi::constructor]
    pub fn from_json(text: String, origin: String) -> Result<Arc<Policy>> {
        guard(|| {
            Ok(Arc::new(Policy(Arc::new(core::Policy::from_json(
                &text, &origin,
            )?))))
        })
    }

    /// The policy's `name`.
    pub fn name(&self) -> String {
        self.0.name().to_owned()
    }

    /// Where it came from (the path, or the origin given).
    pub fn origin(&self) -> String {
        self.0.origin().to_owned()
    }

    /// Its digest (`sha256:...`), as recorded in decisions.
    pub fn digest(&self) -> String {
        self.0.digest().to_owned()
    }

    /// The ids of its rules, in file order.
    pub fn rule_ids(&self) -> Vec<String> {
        self.0.rules().iter().map(|r| r.id().to_owned()).collect()
    }
}

/// Layered policies (organisation → team → task) that decide actions. Immutable and
/// thread-safe: share one across threads.
#[derive(Debug, uniffi::Object)]
pub struct PolicySet(pub(crate) core::PolicySet);

#[uniffi::export]
impl PolicySet {
    /// A set of these layers, most general first. An empty set denies everything.
    #[uniffi::constructor]
    pub fn new(layers: Vec<Arc<Policy>>) -> Arc<PolicySet> {
        Arc::new(PolicySet(core::PolicySet::from_shared(
            layers.iter().map(|p| p.0.clone()).collect(),
        )))
    }

    /// Loads policy files as layers, in order.
    #[uniffi::constructor]
    pub fn from_files(paths: Vec<String>) -> Result<Arc<PolicySet>> {
        guard(|| {
            let layers = paths
                .iter()
                .map(core::Policy::from_file)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(PolicySet(core::PolicySet::new(layers))))
        })
    }

    /// The layers, in order.
    pub fn policies(&self) -> Vec<Arc<Policy>> {
        self.0
            .policies()
            .iter()
            .map(|p| Arc::new(Policy(p.clone())))
            .collect()
    }

    /// Decides `action` in `context` (empty if not given). Pure: no I/O, no evidence.
    /// Invalid input and failing conditions fail closed (a deny that says why).
    #[uniffi::method(default(context = None))]
    pub fn decide(&self, action: Arc<Action>, context: Option<Arc<Context>>) -> Result<Decision> {
        guard(|| {
            let empty = core::Context::new();
            let ctx = context.as_ref().map_or(&empty, |c| &c.0);
            Decision::from_core(&self.0.decide(&action.0, ctx))
        })
    }
}

/// A proposed tool call, read from JSON: `{"tool": ..., "args": {...}, "actor": "id" or
/// {"id", "roles", "kind"}, "session", "run", "metadata", "cost", "tokens"}`.
#[derive(Debug, uniffi::Object)]
pub struct Action(pub(crate) core::Action);

#[uniffi::export]
impl Action {
    /// Reads an action from JSON text; unknown fields and wrong types are errors.
    #[uniffi::constructor]
    pub fn new(json: String) -> Result<Arc<Action>> {
        guard(|| Ok(Arc::new(Action(core::Action::from_json(&json)?))))
    }

    /// The tool's name.
    pub fn tool(&self) -> String {
        self.0.tool.clone()
    }

    /// The action as JSON (with defaults filled in).
    pub fn to_json(&self) -> Result<String> {
        guard(|| serde_json::to_string(&self.0).map_err(|e| LumenFlowError::invalid(e.to_string())))
    }
}

/// What the program knows about the world: the `context` variable of rules, read from a
/// JSON object (`{"worktree": "/work/repo", ...}`).
#[derive(Debug, uniffi::Object)]
pub struct Context(pub(crate) core::Context);

#[uniffi::export]
impl Context {
    /// Reads a context from JSON text: an object, or `null` for an empty one.
    #[uniffi::constructor]
    pub fn new(json: String) -> Result<Arc<Context>> {
        guard(|| {
            let value: serde_json::Value = serde_json::from_str(&json)
                .map_err(|e| core::ActionError::Invalid(format!("context is not JSON: {e}")))?;
            Ok(Arc::new(Context(core::Context::from_value(value)?)))
        })
    }

    /// The context as JSON.
    pub fn to_json(&self) -> Result<String> {
        guard(|| serde_json::to_string(&self.0).map_err(|e| LumenFlowError::invalid(e.to_string())))
    }
}

/// What to do with an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Effect {
    /// Let it run.
    Allow,
    /// Do not run it.
    Deny,
    /// Run it only once it is approved.
    RequireApproval,
}

impl From<core::Effect> for Effect {
    fn from(e: core::Effect) -> Effect {
        match e {
            core::Effect::Allow => Effect::Allow,
            core::Effect::Deny => Effect::Deny,
            core::Effect::RequireApproval => Effect::RequireApproval,
        }
    }
}

/// Where a decision's effect came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DecidedBy {
    /// One or more rules matched.
    Rule,
    /// No rule matched; a policy's default applied.
    Default,
    /// The action or context was rejected before any rule ran (always deny).
    InvalidInput,
    /// A budget's limit (or an error computing its charge) decided.
    Budget,
    /// An approved request for this exact action allowed it.
    Approval,
    /// Every deciding rule's `auto_approve` condition held.
    AutoApproval,
    /// A deny was overridden (break-glass).
    Override,
}

impl From<core::DecidedBy> for DecidedBy {
    fn from(d: core::DecidedBy) -> DecidedBy {
        match d {
            core::DecidedBy::Rule => DecidedBy::Rule,
            core::DecidedBy::Default => DecidedBy::Default,
            core::DecidedBy::InvalidInput => DecidedBy::InvalidInput,
            core::DecidedBy::Budget => DecidedBy::Budget,
            core::DecidedBy::Approval => DecidedBy::Approval,
            core::DecidedBy::AutoApproval => DecidedBy::AutoApproval,
            core::DecidedBy::Override => DecidedBy::Override,
        }
    }
}

/// The terms of an approval: what a require_approval decision asks for, or which
/// approval allowed an action.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ApprovalTerms {
    /// How many distinct approvers must approve.
    pub quorum: u32,
    /// Seconds the request (and its grant) stays valid, if limited.
    pub expires_in: Option<u64>,
    /// When the request expires (RFC 3339).
    pub expires_at: Option<String>,
    /// The approval request whose grant allowed this action.
    pub request: Option<String>,
    /// The `auto_approve` conditions that approved it automatically.
    pub automatic: Vec<String>,
}

/// How a budget's charge on a decision came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChargeStatus {
    /// Within the limit.
    Charged,
    /// Within the limit, but spend has reached `warn_at`.
    Warned,
    /// The amount would exceed the limit.
    Exceeded,
}

/// One budget's verdict on one decision.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Charge {
    /// The budget's id.
    pub budget: String,
    /// The account (session id, actor id, run id, or `*`).
    pub account: String,
    /// What this action would consume.
    pub amount: f64,
    /// Spend already counted in the account before this action.
    pub spent: f64,
    /// The budget's limit.
    pub limit: f64,
    /// The budget's unit.
    pub unit: String,
    /// Charged, warned or exceeded.
    pub status: ChargeStatus,
    /// Whether the amount was reserved (the action was allowed).
    pub reserved: bool,
}

/// A rule, named by its policy and id.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RuleRef {
    /// The policy's name.
    pub policy: String,
    /// The rule's id.
    pub rule: String,
}

/// A rule whose condition held (or failed, and so took its `on_error` effect).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MatchedRule {
    /// The policy's name.
    pub policy: String,
    /// The rule's id.
    pub rule: String,
    /// The effect it contributed.
    pub effect: Effect,
    /// The rule's reason, if it has one.
    pub reason: Option<String>,
    /// True if it matched because its condition failed.
    pub error: bool,
}

/// A rule whose condition could not be evaluated to a bool.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RuleError {
    /// The policy's name (empty for an error about the input itself).
    pub policy: String,
    /// The rule's id (empty for an error about the input itself).
    pub rule: String,
    /// What went wrong.
    pub message: String,
    /// The effect the rule took because of it.
    pub effect: Effect,
}

/// Something worth knowing about a decision that did not change it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Warning {
    /// The policy it is about.
    pub policy: String,
    /// The rules involved.
    pub rules: Vec<String>,
    /// What happened.
    pub message: String,
}

/// A policy that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PolicyRef {
    /// Its name.
    pub name: String,
    /// Its digest (`sha256:...`).
    pub digest: String,
}

/// The answer to "may this action run?" (spec/decision.md).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Decision {
    /// allow, deny or require_approval.
    pub effect: Effect,
    /// True if the effect is allow.
    pub allowed: bool,
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
    /// Who may approve, when the effect is require_approval.
    pub approvers: Vec<String>,
    /// The approval terms (require_approval) or the approval that allowed it.
    pub approval: Option<ApprovalTerms>,
    /// What each budget made of the action (governed decisions only).
    pub budgets: Vec<Charge>,
    /// A one-line explanation.
    pub reason: String,
    /// Time spent evaluating, in nanoseconds.
    pub eval_ns: u64,
    /// The whole decision as JSON, exactly as the core serialises it.
    pub json: String,
}

impl Decision {
    pub(crate) fn from_core(d: &core::Decision) -> Result<Decision> {
        let s = |a: &Arc<str>| a.to_string();
        Ok(Decision {
            effect: d.effect.into(),
            allowed: d.allowed(),
            decided_by: d.decided_by.into(),
            deciding_rules: d
                .deciding_rules
                .iter()
                .map(|r| RuleRef {
                    policy: s(&r.policy),
                    rule: s(&r.rule),
                })
                .collect(),
            matched: d
                .matched
                .iter()
                .map(|m| MatchedRule {
                    policy: s(&m.policy),
                    rule: s(&m.rule),
                    effect: m.effect.into(),
                    reason: m.reason.as_ref().map(s),
                    error: m.error,
                })
                .collect(),
            errors: d
                .errors
                .iter()
                .map(|e| RuleError {
                    policy: s(&e.policy),
                    rule: s(&e.rule),
                    message: e.message.clone(),
                    effect: e.effect.into(),
                })
                .collect(),
            warnings: d
                .warnings
                .iter()
                .map(|w| Warning {
                    policy: s(&w.policy),
                    rules: w.rules.iter().map(s).collect(),
                    message: w.message.clone(),
                })
                .collect(),
            policies: d
                .policies
                .iter()
                .map(|p| PolicyRef {
                    name: s(&p.name),
                    digest: s(&p.digest),
                })
                .collect(),
            approvers: d.approvers.iter().map(s).collect(),
            approval: d.approval.as_ref().map(|a| ApprovalTerms {
                quorum: a.quorum,
                expires_in: a.expires_in,
                expires_at: a.expires_at.clone(),
                request: a.request.clone(),
                automatic: a.automatic.clone(),
            }),
            budgets: d
                .budgets
                .iter()
                .map(|c| Charge {
                    budget: s(&c.budget),
                    account: c.account.clone(),
                    amount: c.amount,
                    spent: c.spent,
                    limit: c.limit,
                    unit: s(&c.unit),
                    status: match c.status {
                        core::ChargeStatus::Charged => ChargeStatus::Charged,
                        core::ChargeStatus::Warned => ChargeStatus::Warned,
                        core::ChargeStatus::Exceeded => ChargeStatus::Exceeded,
                    },
                    reserved: c.reserved,
                })
                .collect(),
            reason: d.reason.clone(),
            eval_ns: d.eval_ns,
            json: serde_json::to_string(d).map_err(|e| LumenFlowError::invalid(e.to_string()))?,
        })
    }
}

/// Canonical JSON (RFC 8785) of a JSON text: the form evidence is hashed in.
#[uniffi::export]
pub fn canonical_json(json: String) -> Result<String> {
    guard(|| {
        let value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| LumenFlowError::invalid(format!("json is not JSON: {e}")))?;
        core::canonical_json(&value).map_err(|e| LumenFlowError::invalid(e.to_string()))
    })
}

/// The outcome of running a policy test file (spec/policy-tests.md).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PolicyTestReport {
    /// Cases that passed.
    pub passed: u64,
    /// Cases that failed.
    pub failed: u64,
    /// The cases that failed, in file order.
    pub failures: Vec<CaseFailure>,
    /// Rules that no case matched.
    pub unexercised: Vec<RuleRef>,
}

/// A policy test case that failed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CaseFailure {
    /// The case's name.
    pub name: String,
    /// The line it starts on.
    pub line: u64,
    /// Why it failed.
    pub message: String,
}

/// Runs a policy test file (YAML) against `policies`.
#[uniffi::export]
pub fn run_policy_tests(policies: Arc<PolicySet>, tests_path: String) -> Result<PolicyTestReport> {
    guard(|| {
        let suite = core::TestSuite::from_file(&tests_path)?;
        let report = suite.run(&policies.0);
        Ok(PolicyTestReport {
            passed: report.passed() as u64,
            failed: report.failed() as u64,
            failures: report
                .results
                .iter()
                .filter_map(|r| {
                    r.failure.as_ref().map(|f| CaseFailure {
                        name: r.case.name.clone(),
                        line: r.case.line,
                        message: f.clone(),
                    })
                })
                .collect(),
            unexercised: report
                .unexercised
                .iter()
                .map(|r| RuleRef {
                    policy: r.policy.to_string(),
                    rule: r.rule.to_string(),
                })
                .collect(),
        })
    })
}
