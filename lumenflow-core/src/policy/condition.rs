//! A CEL expression compiled whole: an automatic approver's condition, a budget's charge.

use cel::parser::Expression;

/// A CEL expression compiled whole (an automatic approver's condition, a budget's charge).
#[derive(Debug)]
pub struct Condition {
    pub(crate) source: String,
    pub(crate) expr: Expression,
    pub(crate) native: Option<crate::policy::eval::Program>,
}

impl Condition {
    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
    pub(crate) fn expr(&self) -> &Expression {
        &self.expr
    }
    pub(crate) fn native(&self) -> Option<&crate::policy::eval::Program> {
        self.native.as_ref()
    }
}
