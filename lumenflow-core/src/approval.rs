//! Approvals: requests opened by `require_approval` decisions, votes, grants.

/// Why an approval could not be given, refused, or found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No approval request has this id.
    #[error("unknown approval request {0}")]
    UnknownRequest(String),
    /// The approver is not one the rule allows.
    #[error("{approver} may not vote on request {request} (the rule allows: {allowed})")]
    NotAnApprover {
        /// The request.
        request: String,
        /// Who tried to vote.
        approver: String,
        /// The approvers the rule names, comma-separated.
        allowed: String,
    },
    /// The request expired before the vote.
    #[error("approval request {request} expired at {expired_at}")]
    Expired {
        /// The request.
        request: String,
        /// When it expired (RFC 3339).
        expired_at: String,
    },
    /// The request is no longer pending (approved, rejected or used).
    #[error("approval request {request} is already {state}")]
    Closed {
        /// The request.
        request: String,
        /// Its state.
        state: String,
    },
    /// An approver's signature did not verify.
    #[error("the signature of {approver} on request {request} does not verify: {reason}")]
    BadSignature {
        /// The request.
        request: String,
        /// Who signed.
        approver: String,
        /// Why it failed.
        reason: String,
    },
    /// An override was refused.
    #[error("override of {decision} refused: {reason}")]
    OverrideRefused {
        /// The decision to override.
        decision: String,
        /// Why.
        reason: String,
    },
}
