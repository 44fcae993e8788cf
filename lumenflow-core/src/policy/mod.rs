//! Policies: the file format and its loading, the compiled evaluator, the `cel` crate
//! fallback, deciding an action, and policy test files.
//!
//! Owns: [`file`] (YAML/JSON loading with diagnostics that point into the text),
//! [`effect`] and [`condition`] (the pieces a file compiles to), [`budget`] (budgets as
//! a policy declares them and the charge a decision records), `eval` (the native
//! evaluator), `cel_value` and [`functions`] (binding values and the helpers into CEL),
//! [`decide`] (the pure decision over a [`PolicySet`]) and [`testing`] (policy test
//! files). May use: [`crate::action`], [`crate::error`], [`crate::helpers`] and
//! [`crate::evidence::canonical`] (policy digests). Nothing here does I/O but reading a
//! policy or test file.

pub mod budget;
pub(crate) mod cel_ext;
pub(crate) mod cel_value;
pub mod condition;
#[doc(hidden)]
pub mod conformance;
pub mod decide;
pub mod effect;
pub(crate) mod eval;
pub mod file;
pub mod functions;
pub mod testing;

pub use condition::Condition;
pub use decide::{
    DecidedBy, Decision, MatchedRule, PolicyRef, PolicySet, RuleError, RuleRef, Warning,
};
pub use effect::Effect;
pub use file::*;
