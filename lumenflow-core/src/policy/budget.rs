//! Budgets as a policy declares them (`budgets:`), and the charge a decision records.
//!
//! The accounting (spend per account, reservations, settlement) is the governor's:
//! in the governing half of the crate. Normative description: `spec/approvals.md`.

use super::condition::Condition;
use super::effect::Effect;
use crate::action::Action;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a budget is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// One account per `action.session`.
    Session,
    /// One account per `action.actor.id`.
    Actor,
    /// One account per `action.run`.
    Run,
    /// One account for everything.
    Global,
}

impl Per {
    /// The account an action is charged to.
    pub fn key(self, action: &Action) -> String {
        match self {
            Per::Session => action.session.clone(),
            Per::Actor => action.actor.id.clone(),
            Per::Run => action.run.clone(),
            Per::Global => "*".to_owned(),
        }
    }
}

/// A budget defined by a policy.
#[derive(Debug)]
pub struct Budget {
    /// Its id; one id names one set of accounts, whichever layer defines it.
    pub id: Arc<str>,
    /// What it is counted per.
    pub per: Per,
    /// The most that may be consumed (within the window, if any).
    pub limit: f64,
    /// The unit (`usd`, `tokens`, ...), for people.
    pub unit: Arc<str>,
    /// A rolling window in seconds; spend older than this no longer counts.
    pub window: Option<u64>,
    /// What an action would consume (`action.cost` and `action.tokens` read as 0 when the
    /// action does not give them).
    pub charge: Condition,
    /// The fraction of the limit at which a charge is recorded as `warned`.
    pub warn_at: Option<f64>,
    /// What an action that would exceed the limit gets: deny or require_approval.
    pub on_exceed: Effect,
    /// Who may approve an overrun (with `on_exceed: require_approval`).
    pub approvers: Vec<Arc<str>>,
    /// How many distinct approvers must approve an overrun.
    pub quorum: u32,
    /// Seconds an overrun approval request stays valid.
    pub expires_in: Option<u64>,
}

/// What a budget made of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Within the limit; the amount is reserved if the action is allowed.
    Charged,
    /// Within the limit, but spend has reached `warn_at`.
    Warned,
    /// The amount would exceed the limit.
    Exceeded,
}

/// One budget's verdict on one decision, recorded in the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The budget's id.
    pub budget: Arc<str>,
    /// The account (session id, actor id, run id, or `*`).
    pub account: String,
    /// What the budget is counted per.
    pub per: Per,
    /// What this action would consume.
    pub amount: f64,
    /// Spend already counted in the account (settled and reserved) before this action.
    pub spent: f64,
    /// The budget's limit.
    pub limit: f64,
    /// The budget's unit.
    pub unit: Arc<str>,
    /// Charged, warned or exceeded.
    pub status: ChargeStatus,
    /// Whether the amount was reserved (the action was allowed).
    pub reserved: bool,
}
