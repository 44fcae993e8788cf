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
//! Modules are named for concepts: [`policy`] (the file format and loading), [`decide`]
//! (evaluation and the decision), [`action`] (the input), [`canonical`] (RFC 8785
//! canonical JSON), and the helpers rules call: [`shell`], [`paths`], [`net`],
//! [`secrets`] (listed in [`functions`]).

#![warn(missing_docs)]

pub mod action;
pub mod approval;
pub mod budget;
pub mod canonical;
mod cel_value;
pub mod clock;
pub mod decide;
pub mod error;
mod eval;
pub mod evidence;
pub mod export;
pub mod functions;
pub mod governor;
pub mod hooks;
pub mod keys;
pub mod net;
pub mod paths;
pub mod policy;
pub mod redact;
pub mod replay;
pub mod secrets;
pub mod shell;
pub mod state;
pub mod store;
pub mod testing;
pub mod verify;

pub use action::{Action, Actor, ActorKind, Context, Limits};
pub use decide::{
    DecidedBy, Decision, Effect, MatchedRule, PolicyRef, PolicySet, RuleError, RuleRef, Warning,
};
pub use error::{ActionError, Diagnostic, Error, PolicyError};
pub use policy::{Format, Loosen, Policy, Rule};
