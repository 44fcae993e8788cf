//! The helpers rules call: what a static reading of an action can tell.
//!
//! Owns: [`shell`] (parsing commands, what they invoke, read and write), [`options`]
//! (option tables: prefix and attached-value normalisation), [`paths`] (lexical
//! path normalisation and matching), [`net`] (URLs and hosts), [`secrets`] (token-shaped
//! secrets). Their CEL names are listed in [`crate::policy::functions`]. May use nothing
//! else of the crate but [`crate::evidence::redact`] in tests; each is a pure function of
//! its arguments.

pub mod net;
pub mod options;
pub mod paths;
pub mod secrets;
pub mod shell;
