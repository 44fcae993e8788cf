//! Verifying and exporting evidence offline.

use crate::error::{guard, LumenFlowError, Result};
use lumenflow_core as core;
use std::path::Path;

/// Whether the records present are authentic and unaltered.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Integrity {
    /// Every record checks out.
    Valid,
    /// Something was altered, removed, inserted, reordered or forged: the first place.
    Broken {
        /// The sequence number expected there.
        seq: u64,
        /// The segment (or bundle) it is in.
        segment: String,
        /// 1-based line in the segment.
        line: u64,
        /// Why.
        reason: String,
    },
}

/// Whether records are missing from the end.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Completeness {
    /// The log reaches the checkpoint.
    Complete {
        /// The checkpoint's sequence number.
        checkpoint_seq: u64,
    },
    /// The log ends before the checkpoint: its tail is missing.
    Incomplete {
        /// The last sequence number present (none if the log is empty).
        last_seq: Option<u64>,
        /// The checkpoint's sequence number.
        checkpoint_seq: u64,
    },
    /// No checkpoint, so a missing tail cannot be detected.
    Unchecked,
    /// A bundle whose own checkpoint does not reach its last record.
    Uncovered {
        /// The last sequence number present.
        last_seq: u64,
        /// The bundle checkpoint's sequence number, if any.
        checkpoint_seq: Option<u64>,
    },
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerifyReport {
    /// 0 valid, 1 tampered, 2 incomplete, 3 unknown key, 4 keys not pinned (as
    /// `lumenflow verify`).
    pub exit_code: i32,
    /// Records read (lines, including broken ones).
    pub records: u64,
    /// The log's stream id.
    pub stream: Option<String>,
    /// The last valid record's sequence number.
    pub head_seq: Option<u64>,
    /// The last valid record's hash.
    pub head_hash: Option<String>,
    /// Integrity verdict.
    pub integrity: Integrity,
    /// Completeness verdict.
    pub completeness: Completeness,
    /// Key ids that signed records but are not trusted.
    pub unknown_keys: Vec<String>,
    /// Records per kind.
    pub kinds: std::collections::HashMap<String, u64>,
    /// Which keys and checkpoint were used.
    pub notes: Vec<String>,
    /// Whether the verifier pinned the keys (false: the log's own were used).
    pub pinned: bool,
    /// Votes and overrides in the log that do not count, with why (exit code 5).
    pub uncounted: Vec<String>,
    /// The whole report as JSON, as `lumenflow verify --json` prints it.
    pub json: String,
}

impl VerifyReport {
    fn from_core(r: &core::Report) -> Result<VerifyReport> {
        Ok(VerifyReport {
            exit_code: r.exit_code(),
            records: r.records,
            stream: r.stream.clone(),
            head_seq: r.head.as_ref().map(|h| h.seq),
            head_hash: r.head.as_ref().map(|h| h.hash.clone()),
            integrity: match &r.integrity {
                core::Integrity::Valid => Integrity::Valid,
                core::Integrity::Broken(b) => Integrity::Broken {
                    seq: b.seq,
                    segment: b.segment.clone(),
                    line: b.line,
                    reason: b.reason.clone(),
                },
            },
            completeness: match &r.completeness {
                core::Completeness::Complete { checkpoint_seq } => Completeness::Complete {
                    checkpoint_seq: *checkpoint_seq,
                },
                core::Completeness::Incomplete {
                    last_seq,
                    checkpoint_seq,
                } => Completeness::Incomplete {
                    last_seq: *last_seq,
                    checkpoint_seq: *checkpoint_seq,
                },
                core::Completeness::Unchecked => Completeness::Unchecked,
                core::Completeness::Uncovered {
                    last_seq,
                    checkpoint_seq,
                } => Completeness::Uncovered {
                    last_seq: *last_seq,
                    checkpoint_seq: *checkpoint_seq,
                },
            },
            unknown_keys: r.unknown_keys.clone(),
            kinds: r.kinds.iter().map(|(k, n)| (k.clone(), *n)).collect(),
            notes: r.notes.clone(),
            pinned: r.pinned,
            uncounted: r.uncounted.clone(),
            json: serde_json::to_string(r).map_err(|e| LumenFlowError::invalid(e.to_string()))?,
        })
    }
}

/// A keyring of trusted public keys (PEM or hex), or `None` for none given.
fn keyring(trusted_keys: Option<Vec<String>>) -> Result<Option<core::Keyring>> {
    Ok(trusted_keys
        .map(|keys| core::Keyring::from_pems(&keys, "trusted_keys"))
        .transpose()?)
}

fn checkpoint(json: Option<String>) -> Result<Option<core::Checkpoint>> {
    json.map(|text| {
        core::Checkpoint::parse(&text).map_err(|e| LumenFlowError::Evidence {
            message: format!("checkpoint: {e}"),
        })
    })
    .transpose()
}

/// Verifies an evidence directory or a bundle file. `trusted_keys` are public keys (PEM
/// or hex); without them the keys shipped with the log are used (proving consistency,
/// not who signed). Without `checkpoint_json` the log's own latest checkpoint is used.
/// With `registry_path`, votes and overrides are judged by that approver registry.
#[uniffi::export(default(trusted_keys = None, checkpoint_json = None, registry_path = None))]
pub fn verify(
    path: String,
    trusted_keys: Option<Vec<String>>,
    checkpoint_json: Option<String>,
    registry_path: Option<String>,
) -> Result<VerifyReport> {
    guard(|| {
        let ring = keyring(trusted_keys)?;
        let cp = checkpoint(checkpoint_json)?;
        let registry = registry_path
            .map(|p| core::Registry::load(p).map(std::sync::Arc::new))
            .transpose()?;
        let report = core::verify_path_with(
            Path::new(&path),
            ring.as_ref(),
            cp,
            registry.as_ref(),
            &|_| {},
        )?;
        VerifyReport::from_core(&report)
    })
}

/// Verifies record lines (the JSONL of `export --format jsonl`, or a segment) against
/// `trusted_keys` and, if given, a checkpoint.
#[uniffi::export(default(checkpoint_json = None))]
pub fn verify_jsonl(
    data: Vec<u8>,
    trusted_keys: Vec<String>,
    checkpoint_json: Option<String>,
) -> Result<VerifyReport> {
    guard(|| {
        let ring = core::Keyring::from_pems(&trusted_keys, "trusted_keys")?;
        let cp = checkpoint(checkpoint_json)?;
        VerifyReport::from_core(&core::verify_records("jsonl", &data, &ring, cp))
    })
}

/// The strict Ed25519 rule of spec/evidence.md: whether `signature_hex` signs `message`
/// under `public_key_hex` (both lower-case hex). Anything malformed is `false`.
#[uniffi::export]
pub fn verify_signature(public_key_hex: String, message: Vec<u8>, signature_hex: String) -> bool {
    core::verify_signature(&public_key_hex, &message, &signature_hex)
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ExportFormat {
    /// One self-contained file that verifies offline on its own.
    Bundle,
    /// The record lines only.
    Jsonl,
    /// A flat table for spreadsheets.
    Csv,
}

/// Writes the log of evidence directory `dir` to `out`; returns the number of records.
#[uniffi::export]
pub fn export(dir: String, out: String, format: ExportFormat) -> Result<u64> {
    guard(|| {
        let f = match format {
            ExportFormat::Bundle => core::ExportFormat::Bundle,
            ExportFormat::Jsonl => core::ExportFormat::Jsonl,
            ExportFormat::Csv => core::ExportFormat::Csv,
        };
        Ok(core::export(Path::new(&dir), Path::new(&out), f)?)
    })
}
