//! The three effects a rule, a default or a decision can have.

use serde::{Deserialize, Serialize};

/// What to do with an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Let it run.
    Allow,
    /// Do not run it.
    Deny,
    /// Run it only once a person (or an automatic approver) approves.
    RequireApproval,
}

impl Effect {
    /// How strict the effect is: allow 0, require_approval 1, deny 2.
    pub fn strictness(self) -> u8 {
        match self {
            Effect::Allow => 0,
            Effect::RequireApproval => 1,
            Effect::Deny => 2,
        }
    }

    /// `allow`, `deny` or `require_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::RequireApproval => "require_approval",
        }
    }
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
