//! The one error type of the bindings, and the guard that keeps panics on this side.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Any error LumenFlow reports. The variant is the core's stable error code
/// (`lumenflow_core::Error::code`) and `message` is the core's message, unchanged.
///
/// Kotlin: `LumenFlowException.Policy` (`e.message`), ...; Swift:
/// `LumenFlowError.Policy(message:)`, ... (a "flat" uniffi error: the message crosses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum LumenFlowError {
    /// `policy`: a policy could not be read or is invalid (the message names file, rule,
    /// line and column).
    #[error("{message}")]
    Policy {
        /// The core's message.
        message: String,
    },
    /// `action`: an action or context was rejected before any rule ran.
    #[error("{message}")]
    Action {
        /// The core's message.
        message: String,
    },
    /// `key`: a key could not be read, parsed or used.
    #[error("{message}")]
    Key {
        /// The core's message.
        message: String,
    },
    /// `evidence`: evidence could not be written or read.
    #[error("{message}")]
    Evidence {
        /// The core's message.
        message: String,
    },
    /// `approval`: an approval could not be given, refused, or found.
    #[error("{message}")]
    Approval {
        /// The core's message.
        message: String,
    },
    /// `invalid`: an argument is not valid (named in the message).
    #[error("{message}")]
    Invalid {
        /// What is wrong, and with which argument.
        message: String,
    },
    /// `internal`: LumenFlow panicked (a bug). The panic was caught at the boundary; the
    /// call failed closed.
    #[error("{message}")]
    Internal {
        /// The panic's message.
        message: String,
    },
}

impl LumenFlowError {
    /// The stable code of the error: the core's `code()` (`policy`, `action`, `key`,
    /// `evidence`, `approval`, `invalid`), or `internal` for a caught panic.
    pub fn code(&self) -> &'static str {
        match self {
            LumenFlowError::Policy { .. } => "policy",
            LumenFlowError::Action { .. } => "action",
            LumenFlowError::Key { .. } => "key",
            LumenFlowError::Evidence { .. } => "evidence",
            LumenFlowError::Approval { .. } => "approval",
            LumenFlowError::Invalid { .. } => "invalid",
            LumenFlowError::Internal { .. } => "internal",
        }
    }

    /// An `invalid` error with this message.
    pub(crate) fn invalid(message: impl Into<String>) -> LumenFlowError {
        LumenFlowError::Invalid {
            message: message.into(),
        }
    }
}

impl From<lumenflow_core::Error> for LumenFlowError {
    fn from(e: lumenflow_core::Error) -> LumenFlowError {
        let message = e.to_string();
        match e.code() {
            "policy" => LumenFlowError::Policy { message },
            "action" => LumenFlowError::Action { message },
            "key" => LumenFlowError::Key { message },
            "evidence" => LumenFlowError::Evidence { message },
            "approval" => LumenFlowError::Approval { message },
            _ => LumenFlowError::Invalid { message },
        }
    }
}

/// Converts any core error (`PolicyError`, `KeyError`, ...) through `lumenflow_core::Error`.
macro_rules! from_core {
    ($($t:ty),*) => {$(
        impl From<$t> for LumenFlowError {
            fn from(e: $t) -> LumenFlowError {
                lumenflow_core::Error::from(e).into()
            }
        }
    )*};
}

from_core!(
    lumenflow_core::PolicyError,
    lumenflow_core::ActionError,
    lumenflow_core::KeyError,
    lumenflow_core::EvidenceError,
    lumenflow_core::ApprovalError
);

/// Result of every fallible call of the bindings.
pub type Result<T, E = LumenFlowError> = std::result::Result<T, E>;

/// Runs `f`, turning a panic into [`LumenFlowError::Internal`] so that none crosses the
/// FFI boundary (Swift would abort on one).
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(LumenFlowError::Internal {
                message: format!("internal error in lumenflow (please report it): {what}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let r: Result<()> = guard(|| panic!("boom {}", 7));
        let e = r.unwrap_err();
        assert_eq!(e.code(), "internal");
        assert!(e.to_string().contains("boom 7"), "{e}");
        let r: Result<()> = guard(|| panic!("static"));
        assert!(r.unwrap_err().to_string().contains("static"));
    }

    #[test]
    fn core_codes_map_to_their_variants() {
        let e: LumenFlowError = lumenflow_core::ActionError::Invalid("no tool".into()).into();
        assert_eq!(e.code(), "action");
        assert_eq!(e.to_string(), "invalid action: no tool");
        let e: LumenFlowError = lumenflow_core::EvidenceError::Invalid("x".into()).into();
        assert_eq!(e.code(), "evidence");
        let e: LumenFlowError = lumenflow_core::Error::Invalid("bad".into()).into();
        assert_eq!(e, LumenFlowError::invalid("bad"));
    }
}
