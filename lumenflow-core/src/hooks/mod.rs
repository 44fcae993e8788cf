//! Agent-client hook protocols: one file per client, each turning that client's events
//! into an [`Action`](crate::Action) and a [`Decision`](crate::Decision) into the answer
//! the client expects, in its blocking form on any failure.
//!
//! Owns: [`claude_code`]. May use: [`crate::action`] and [`crate::policy`].

pub mod claude_code;

pub use claude_code::*;
