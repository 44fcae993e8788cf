//! Evidence: records, their canonical bytes, keys and signatures, the append-only store,
//! verification, export and redaction.
//!
//! Owns: [`canonical`] (RFC 8785 canonical JSON), [`record`] (the record, head and
//! checkpoint formats), [`keys`] (Ed25519 keys and key files), [`store`] (segments on
//! disk, the file lock, recovery), [`verify`] (offline verification and its verdicts),
//! [`export`] (bundles, JSONL, CSV, log filters) and [`redact`] (secrets out of records).
//! May use: [`crate::helpers::secrets`] (what redaction looks for). Knows nothing of
//! policies or of the governor's state. Normative description: `spec/evidence.md`.

pub mod canonical;
pub mod export;
pub mod keys;
pub mod record;
pub mod redact;
pub mod store;
pub mod verify;

pub use record::*;
