//! Errors: load diagnostics that point into the policy text, and action errors.

use std::fmt;

/// Longest message kept in a [`Diagnostic`] (longer ones are cut, so that one bad
/// expression cannot produce megabytes of output).
pub const MAX_MESSAGE_BYTES: usize = 600;

/// One problem found in a policy, located as precisely as the source allows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Where the policy came from: a file path, or a name given by the caller.
    pub origin: String,
    /// The id of the rule the problem is in, if it is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// 1-based line in the source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column in the source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// The field the problem is in (`when`, `effect`, ...), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic with just an origin and a message.
    pub fn new(origin: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            origin: origin.to_owned(),
            rule: None,
            line: None,
            column: None,
            field: None,
            message: bound(message.into()),
        }
    }

    /// Sets the location.
    pub fn at(mut self, line: u64, column: u64) -> Diagnostic {
        if line > 0 {
            self.line = Some(line);
            self.column = (column > 0).then_some(column);
        }
        self
    }

    /// Sets the rule id.
    pub fn in_rule(mut self, rule: &str) -> Diagnostic {
        self.rule = Some(rule.to_owned());
        self
    }

    /// Sets the field name.
    pub fn in_field(mut self, field: &str) -> Diagnostic {
        self.field = Some(field.to_owned());
        self
    }
}

/// Cuts `s` to at most [`MAX_MESSAGE_BYTES`] on a character boundary.
pub(crate) fn bound(mut s: String) -> String {
    if s.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(" …");
    }
    s
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ":")?;
        if let Some(r) = &self.rule {
            write!(f, " rule `{r}`:")?;
        }
        if let Some(field) = &self.field {
            write!(f, " {field}:")?;
        }
        write!(f, " {}", self.message)
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Io {
        /// The path that was read.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The policy text has problems; every one found is listed.
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl PolicyError {
    /// The diagnostics, if the error is about the policy's content.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            PolicyError::Invalid(d) => d,
            PolicyError::Io { .. } => &[],
        }
    }
}

fn render(d: &[Diagnostic]) -> String {
    let mut s = String::new();
    for (i, x) in d.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&x.to_string());
    }
    s
}

/// Why an action or context was rejected before any rule ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The action's JSON could not be read into the action schema.
    #[error("invalid action: {0}")]
    Invalid(String),
    /// A limit was exceeded.
    #[error("action exceeds a limit: {0}")]
    TooLarge(String),
}

/// Any error LumenFlow reports, for callers (and language bindings) that want one type.
///
/// [`Error::code`] names the kind with a stable string that bindings map to their own
/// exception classes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A policy could not be loaded.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// An action or context was rejected before any rule ran.
    #[error(transparent)]
    Action(#[from] ActionError),
    /// A key could not be read, parsed or used.
    #[error(transparent)]
    Key(#[from] crate::evidence::keys::KeyError),
    /// Evidence could not be written or read.
    #[error(transparent)]
    Evidence(#[from] crate::evidence::store::EvidenceError),
    /// An approval could not be given, refused, or found.
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// A caller's argument is not valid (named in the message).
    #[error("{0}")]
    Invalid(String),
    /// The decision was proposed by another actor than the one who asked to close it.
    #[error("decision {decision} is not {actor}'s: only the actor who proposed it may record its outcome")]
    NotOwner {
        /// The decision's id.
        decision: String,
        /// Who asked.
        actor: String,
    },
}

impl Error {
    /// A stable name for the kind of error: `policy`, `action`, `key`, `evidence`,
    /// `approval`, `invalid` or `not_owner`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Policy(_) => "policy",
            Error::Action(_) => "action",
            Error::Key(_) => "key",
            Error::Evidence(_) => "evidence",
            Error::Approval(_) => "approval",
            Error::Invalid(_) => "invalid",
            Error::NotOwner { .. } => "not_owner",
        }
    }
}

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
    /// The vote is not from an authenticated person: with an approver registry, it is
    /// neither signed by a registered approver's key nor attested by a declared attester.
    #[error("the vote of {approver} on request {request} does not count: {reason}")]
    NotAuthenticated {
        /// The request.
        request: String,
        /// Who the vote names.
        approver: String,
        /// Why it does not count.
        reason: String,
    },
    /// The approver already voted the other way; a vote cannot be changed.
    #[error("{approver} already voted {verdict} on request {request}; a vote cannot be changed")]
    AlreadyVoted {
        /// The request.
        request: String,
        /// Who voted.
        approver: String,
        /// Their recorded verdict.
        verdict: String,
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
