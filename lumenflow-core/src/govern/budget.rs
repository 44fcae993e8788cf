//! Budget accounting: spend per account, derived from the evidence log.
//!
//! A budget's `charge` expression (declared in [`crate::policy::budget`]) says what an
//! action would consume. At decision time the amount is *reserved* (if the action is
//! allowed) or the action is refused (`on_exceed`); the outcome *settles* the reservation
//! with the actual amount (a failed action without an actual amount is refunded). Spend is
//! derived from the evidence log (see [`crate::govern::state`]), so it survives restarts
//! and is shared by every process writing to the same log; reservations are made under
//! the log's lock, so concurrent decisions can never overspend. Normative description:
//! `spec/approvals.md`.

pub use crate::policy::budget::{Budget, Charge, ChargeStatus, Per};

use crate::action::{Action, Context};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// A budget as rules see it: `context.budgets["<id>"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// Spend counted in the action's account (settled and reserved).
    pub spent: f64,
    /// `limit - spent`, never below 0.
    pub remaining: f64,
    /// The limit.
    pub limit: f64,
    /// The unit.
    pub unit: Arc<str>,
}

/// One reservation or settled charge.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The decision it is for.
    decision: String,
    /// Microseconds since the epoch, of the decision.
    at: i64,
    amount: f64,
}

/// One account's entries, as saved in a state snapshot.
#[derive(Serialize, Deserialize)]
struct SavedAccount {
    budget: Arc<str>,
    account: String,
    entries: Vec<Entry>,
}

/// A budget's account: (budget id, account key).
type AccountKey = (Arc<str>, String);

/// Spend per (budget, account), derived from the log.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "Vec<SavedAccount>", into = "Vec<SavedAccount>")]
pub struct Accounts {
    entries: HashMap<AccountKey, Vec<Entry>>,
    /// Decision id → where its reservations are (account key, index).
    by_decision: HashMap<String, Vec<(AccountKey, usize)>>,
}

impl Accounts {
    /// Spend in an account at `now` (µs), counting only entries inside the window.
    pub fn spent(&self, budget: &str, account: &str, window: Option<u64>, now: i64) -> f64 {
        let key = (Arc::<str>::from(budget), account.to_owned());
        let Some(es) = self.entries.get(&key) else {
            return 0.0;
        };
        let from = window.map(|w| now.saturating_sub((w as i64).saturating_mul(1_000_000)));
        es.iter()
            .filter(|e| from.is_none_or(|f| e.at > f))
            .map(|e| e.amount)
            .sum()
    }

    /// Reserves `amount` for decision `id`.
    pub(crate) fn reserve(
        &mut self,
        id: &str,
        budget: &Arc<str>,
        account: &str,
        amount: f64,
        at: i64,
    ) {
        let key = (budget.clone(), account.to_owned());
        let es = self.entries.entry(key.clone()).or_default();
        es.push(Entry {
            decision: id.to_owned(),
            at,
            amount,
        });
        self.by_decision
            .entry(id.to_owned())
            .or_default()
            .push((key, es.len() - 1));
    }

    /// Every account that has been charged: (budget, account).
    pub fn accounts(&self) -> Vec<AccountKey> {
        let mut v: Vec<AccountKey> = self.entries.keys().cloned().collect();
        v.sort();
        v
    }

    /// The reservations of decision `id`: (budget, account, amount).
    pub fn reservations(&self, id: &str) -> Vec<(Arc<str>, String, f64)> {
        self.by_decision
            .get(id)
            .map(|v| {
                v.iter()
                    .filter_map(|(k, i)| {
                        self.entries
                            .get(k)
                            .and_then(|es| es.get(*i))
                            .map(|e| (k.0.clone(), k.1.clone(), e.amount))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Replaces decision `id`'s reservation in `budget` with the settled `amount`.
    pub(crate) fn settle(&mut self, id: &str, budget: &str, amount: f64) {
        let Some(v) = self.by_decision.get(id) else {
            return;
        };
        for (k, i) in v {
            if &*k.0 == budget {
                if let Some(e) = self.entries.get_mut(k).and_then(|es| es.get_mut(*i)) {
                    e.amount = amount;
                }
            }
        }
    }
}

impl From<Accounts> for Vec<SavedAccount> {
    fn from(a: Accounts) -> Self {
        let mut v: Vec<SavedAccount> = a
            .entries
            .into_iter()
            .map(|((budget, account), entries)| SavedAccount {
                budget,
                account,
                entries,
            })
            .collect();
        v.sort_by(|x, y| (&x.budget, &x.account).cmp(&(&y.budget, &y.account)));
        v
    }
}

impl From<Vec<SavedAccount>> for Accounts {
    fn from(v: Vec<SavedAccount>) -> Self {
        let mut a = Accounts::default();
        for s in v {
            let key = (s.budget, s.account);
            for (i, e) in s.entries.iter().enumerate() {
                a.by_decision
                    .entry(e.decision.clone())
                    .or_default()
                    .push((key.clone(), i));
            }
            a.entries.insert(key, s.entries);
        }
        a
    }
}

/// A budget account as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The budget's id.
    pub budget: String,
    /// The account (session, actor, run id, or `*`).
    pub account: String,
    /// Spend counted now (settled and reserved, inside the window).
    pub spent: f64,
    /// The limit.
    pub limit: f64,
    /// `limit - spent`, never below 0.
    pub remaining: f64,
    /// The unit.
    pub unit: String,
}

/// Every charged account of `set`'s budgets, as it stands at `now` (µs).
pub fn statuses(
    set: &crate::policy::decide::PolicySet,
    accounts: &Accounts,
    now: i64,
) -> Vec<BudgetStatus> {
    let mut out = Vec::new();
    for (budget, account) in accounts.accounts() {
        let Some(b) = find(set, &budget) else {
            continue;
        };
        let spent = accounts.spent(&budget, &account, b.window, now);
        out.push(BudgetStatus {
            budget: budget.to_string(),
            account,
            spent,
            limit: b.limit,
            remaining: (b.limit - spent).max(0.0),
            unit: b.unit.to_string(),
        });
    }
    out
}

/// The budgets of every layer, in layer then file order.
pub(crate) fn all(set: &crate::policy::decide::PolicySet) -> impl Iterator<Item = &Budget> {
    set.policies().iter().flat_map(|p| p.budgets())
}

/// `context.budgets` for `action`: every budget's view of the action's account.
pub fn views(
    set: &crate::policy::decide::PolicySet,
    accounts: &Accounts,
    action: &Action,
    now: i64,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for b in all(set) {
        let spent = accounts.spent(&b.id, &b.per.key(action), b.window, now);
        let v = View {
            spent,
            remaining: (b.limit - spent).max(0.0),
            limit: b.limit,
            unit: b.unit.clone(),
        };
        m.insert(
            b.id.to_string(),
            serde_json::to_value(v).unwrap_or_default(),
        );
    }
    m
}

/// What the budgets make of `action`: one charge per budget whose charge is positive, or
/// the first error (which fails the decision closed).
pub fn assess(
    set: &crate::policy::decide::PolicySet,
    accounts: &Accounts,
    action: &Action,
    context: &Context,
    now: i64,
) -> Result<Vec<Charge>, String> {
    let mut out = Vec::new();
    let mut costed: Option<Action> = None;
    for b in all(set) {
        let costed = costed.get_or_insert_with(|| {
            let mut a = action.clone();
            a.cost.get_or_insert(0.0);
            a.tokens.get_or_insert(0);
            a
        });
        let amount = amount(b, costed, context)?;
        if amount == 0.0 {
            continue;
        }
        let account = b.per.key(action);
        let spent = accounts.spent(&b.id, &account, b.window, now);
        let after = spent + amount;
        let status = if after > b.limit * (1.0 + 1e-12) {
            ChargeStatus::Exceeded
        } else if b.warn_at.is_some_and(|w| after >= w * b.limit) {
            ChargeStatus::Warned
        } else {
            ChargeStatus::Charged
        };
        out.push(Charge {
            budget: b.id.clone(),
            account,
            per: b.per,
            amount,
            spent,
            limit: b.limit,
            unit: b.unit.clone(),
            status,
            reserved: false,
        });
    }
    Ok(out)
}

/// Evaluates budget `b`'s charge for `action` (whose cost and tokens default to 0).
pub(crate) fn amount(b: &Budget, action: &Action, context: &Context) -> Result<f64, String> {
    let v =
        crate::policy::decide::evaluate_value(b.charge.expr(), action, context).map_err(|e| {
            format!(
                "budget `{}`: charge `{}` failed: {e}",
                b.id,
                b.charge.source()
            )
        })?;
    let n = match v {
        cel::Value::Int(i) => i as f64,
        cel::Value::UInt(u) => u as f64,
        cel::Value::Float(f) => f,
        other => {
            return Err(format!(
                "budget `{}`: charge `{}` is a {}, not a number",
                b.id,
                b.charge.source(),
                other.type_of()
            ))
        }
    };
    if !n.is_finite() || n < 0.0 {
        return Err(format!(
            "budget `{}`: charge `{}` is {n}, not a finite amount of at least 0",
            b.id,
            b.charge.source()
        ));
    }
    Ok(n)
}

/// The budget with this id, if a layer defines it.
pub(crate) fn find<'a>(set: &'a crate::policy::decide::PolicySet, id: &str) -> Option<&'a Budget> {
    all(set).find(|b| &*b.id == id)
}
