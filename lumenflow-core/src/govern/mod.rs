//! Governing: the governor that decides and records, and everything derived from its log.
//!
//! Owns: [`governor`] (decide → record → outcome over an evidence directory),
//! [`approval`] (requests, approvers, votes and their signatures), [`registry`] (the
//! approver registry: identities and roles bound to keys, and declared attesters), [`budget`] (spend per
//! account), [`state`] (the fold over the log that approvals, budgets and overrides are
//! read from), [`replay`] (re-deciding a log under a policy) and [`clock`] (system and
//! manual time). May use: [`crate::policy`], [`crate::evidence`], [`crate::action`] and
//! [`crate::error`]. Normative description: `spec/approvals.md`.

pub mod approval;
pub mod budget;
pub mod clock;
pub mod governor;
pub mod registry;
pub mod replay;
pub mod state;
