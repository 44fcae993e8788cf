//! Swift and Kotlin bindings for LumenFlow, generated with [uniffi](https://mozilla.github.io/uniffi-rs/).
//!
//! This crate only adapts types: every semantic lives in `lumenflow-core`. Actions and
//! contexts are read from JSON (as the core reads them), decisions and reports come back
//! as records with typed fields plus the core's JSON, and every error is one
//! [`LumenFlowError`] whose variant is the core's error code. Every fallible entry point
//! runs under a panic guard, so no panic crosses the FFI boundary.
//!
//! Build the library, then generate the sources (library mode):
//!
//! ```sh
//! cargo build -p lumenflow-ffi
//! cargo run -p lumenflow-ffi --features bindgen --bin uniffi-bindgen -- generate \
//!   --library target/debug/liblumenflow_ffi.so --language kotlin --out-dir out/kotlin
//! ```
//!
//! `scripts/test-kotlin.sh` does this and runs the JUnit 5 suite; see the README's
//! "Kotlin and Swift quickstarts" and `lumenflow-ffi/swift/README.md`.

#![warn(missing_docs)]

mod approvals;
mod decide;
mod error;
mod governor;
mod keys;
mod verify;

pub use approvals::{
    replay, sign_vote, ApprovalRequest, Approver, BudgetStatus, Choice, ManualClock, ReplayEntry,
    ReplayOutcome, ReplayReport, RequestState, Vote, VoteSignature,
};
pub use decide::{
    canonical_json, run_policy_tests, Action, ApprovalTerms, CaseFailure, Charge, ChargeStatus,
    Context, DecidedBy, Decision, Effect, MatchedRule, Policy, PolicyRef, PolicySet,
    PolicyTestReport, RuleError, RuleRef, Warning,
};
pub use error::{LumenFlowError, Result};
pub use governor::{
    Checkpoint, Durability, EvidenceRecord, Governed, Governor, GovernorOptions, Outcome, Status,
};
pub use keys::KeyPair;
pub use verify::{
    export, verify, verify_jsonl, verify_signature, Completeness, ExportFormat, Integrity,
    VerifyReport,
};

uniffi::setup_scaffolding!("lumenflow");
