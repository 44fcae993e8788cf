//! LumenFlow's core: policy and evidence for AI agents.
//!
//! An agent proposes an [`Action`]; a [`PolicySet`] of CEL rules decides it
//! ([`PolicySet::decide`]) and answers with a [`Decision`]: allow, deny or require
//! approval, with the rules that decided and why. Decisions are pure: no I/O, no clock
//! other than measuring their own evaluation time.
//!
//! ```
//! use lumenflow_core::{Action, Context, Effect, Policy, PolicySet};
//!
//! let policy = Policy::from_yaml(r#"
//! version: 1
//! name: example
//! default: deny
//! rules:
//!   - id: no-force-push
//!     effect: deny
//!     when: action.tool == "bash" && shell.invokes(action.args.command, "git push --force|-f")
//!     reason: force pushes rewrite shared history
//!   - id: bash
//!     effect: allow
//!     when: action.tool == "bash"
//! "#, "example.yaml").unwrap();
//! let set = PolicySet::single(policy);
//! let action = Action::new("bash", serde_json::json!({"command": "git -C repo push -f"})).unwrap();
//! let d = set.decide(&action, &Context::new());
//! assert_eq!(d.effect, Effect::Deny);
//! assert_eq!(&*d.deciding_rules[0].rule, "no-force-push");
//! ```
//!
//! The crate is grouped by concept, each folder's `mod.rs` saying what it owns and
//! what it may use (nothing reaches back up):
//!
//! | module | owns |
//! |---|---|
//! | [`action`] | the input: a proposed tool call and its context |
//! | [`helpers`] | the functions rules call: [`helpers::shell`], [`helpers::paths`], [`helpers::net`], [`helpers::secrets`] |
//! | [`policy`] | the file format and loading, the compiled evaluator, the `cel` fallback, [`policy::decide`], policy test files |
//! | [`evidence`] | canonical JSON, records, keys, the store, verify, export, redaction |
//! | [`govern`] | the governor, approvals, budgets, the state derived from the log, replay, the clock |
//! | [`hooks`] | agent-client hook protocols, one file per client |
//! | [`remote`] | the `lumenflow serve` socket protocol and its blocking client |
//! | [`error`] | the crate's error enums |
//!
//! The types programs need are re-exported here at the root; the CLI and the bindings use
//! only those.

#![warn(missing_docs)]

pub mod action;
pub mod error;
pub mod evidence;
pub mod govern;
pub mod helpers;
pub mod hooks;
pub mod policy;
pub mod remote;

pub use action::{Action, Actor, ActorKind, Context, Limits};
pub use error::{ActionError, Diagnostic, Error, PolicyError};
pub use evidence::canonical::{digest, sha256_digest, to_string as canonical_json};
pub use evidence::export::{
    csv_cell, csv_row, export, export_signed, filter_records, is_bundle, read_bundle, read_records,
    terminal_text, verify_path, verify_path_with, verify_records, Format as ExportFormat,
    LogFilter,
};
pub use evidence::keys::{parse_public, public_path, verify_signature, KeyError, KeyPair, Keyring};
pub use evidence::record::{kind, timestamp, Checkpoint, Head, Record};
pub use evidence::redact::Redactor;
pub use evidence::store::{read_segments, repair_dir, write_checkpoint};
pub use evidence::store::{Durability, EvidenceError};
pub use evidence::verify::{Completeness, Integrity, Report, ReportView, Verifier};
pub use govern::approval::{
    sign as sign_vote, sign_override, ApprovalError, Approver, Choice, Request, RequestState,
    RequestView, VoteSignature, VoteTrust,
};
pub use govern::budget::{statuses as budget_statuses, BudgetStatus};
pub use govern::clock::{Clock, ManualClock};
pub use govern::governor::{
    Governed, GovernedView, Governor, GovernorOptions, Outcome, Status, Verdict,
};
pub use govern::registry::{Attester, RegisteredApprover, Registry};
pub use govern::replay::{
    replay_path, Entry as ReplayEntry, Outcome as ReplayOutcome, Report as ReplayReport,
};
pub use govern::state::State;
pub use policy::budget::{Charge, ChargeStatus};
pub use policy::decide::{
    DecidedBy, Decision, Effect, MatchedRule, PolicyRef, PolicySet, RuleError, RuleRef, Warning,
};
pub use policy::file::{Format, Loosen, Policy, Rule};
pub use policy::testing::TestSuite;

// The module paths of the flat layout before the crate was grouped by concept, kept so
// that code written against them still compiles. New code uses the paths above.
#[doc(hidden)]
pub use evidence::{canonical, export, keys, redact, store, verify};
#[doc(hidden)]
pub use govern::{approval, budget, clock, governor, replay, state};
#[doc(hidden)]
pub use helpers::{net, paths, secrets, shell};
#[doc(hidden)]
pub use policy::{decide, functions, testing};
