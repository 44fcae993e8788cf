//! Verifying evidence offline: canonical form, hashes, signatures, sequence, chain links
//! and checkpoints, with integrity and completeness reported separately.
//!
//! [`Verifier`] is incremental: records are pushed in log order and it remembers the
//! first break. [`verify_lines`] checks the per-record parts (parsing, canonical form,
//! hash, signature) on every core and feeds the results to a `Verifier` in order, so it
//! reaches the same verdict as pushing one line at a time.

use crate::evidence::keys::Keyring;
use crate::evidence::record::{Checkpoint, Head, Record, RecordError, GENESIS};
use crate::evidence::store::RawLine;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The first place the log stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// The sequence number expected at that place.
    pub seq: u64,
    /// The segment (or bundle) it is in.
    pub segment: String,
    /// 1-based line in the segment.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// Whether the records that are present are authentic and unaltered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Integrity {
    /// Every record checks out.
    Valid,
    /// Something was altered, removed, inserted, reordered or forged.
    Broken(Broken),
}

impl Integrity {
    /// `valid` or `broken`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Integrity::Valid => "valid",
            Integrity::Broken(_) => "broken",
        }
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.segment, self.line, self.reason)
    }
}

/// Whether records are missing from the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Completeness {
    /// The log reaches the checkpoint (and may go past it).
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
    /// No checkpoint was given, so a missing tail cannot be detected.
    Unchecked,
    /// A bundle whose own signed checkpoint does not reach its last record (or that has
    /// none): the records after `checkpoint_seq` are not proven to be the log's end, so a
    /// bundle with its tail dropped and its manifest recomputed is not passed as whole.
    Uncovered {
        /// The last sequence number present.
        last_seq: u64,
        /// The bundle checkpoint's sequence number, if it has one.
        checkpoint_seq: Option<u64>,
    },
}

impl Completeness {
    /// `complete`, `incomplete` or `unchecked`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Completeness::Complete { .. } => "complete",
            Completeness::Incomplete { .. } => "incomplete",
            Completeness::Unchecked => "unchecked",
            Completeness::Uncovered { .. } => "uncovered",
        }
    }
}

/// The result of verifying a log.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Records read (lines, including broken ones).
    pub records: u64,
    /// The log's stream id.
    pub stream: Option<String>,
    /// The last valid record.
    pub head: Option<Head>,
    /// Integrity verdict.
    pub integrity: Integrity,
    /// Completeness verdict.
    pub completeness: Completeness,
    /// Key ids that signed records (or the checkpoint) but are not in the keyring.
    pub unknown_keys: Vec<String>,
    /// Records per kind.
    pub kinds: BTreeMap<String, u64>,
    /// Notes (which keys and checkpoint were used).
    pub notes: Vec<String>,
    /// Whether the keys were pinned by the verifier. Without pinned keys (those shipped
    /// with the log were used) the report proves consistency, not who signed, and is
    /// never `valid`: its exit code is [`exit::UNPINNED`].
    pub pinned: bool,
    /// Votes and overrides in the log that do not count (with the record id and why): a
    /// bad or unregistered signature, an approver the rule does not name, a vote after
    /// expiry or by one identity twice, an override of no deny. The governor never writes
    /// them, so each was written around its checks (with its key, by other means); the
    /// state folded from the log ignores them. Checked only when the chain is intact.
    pub uncounted: Vec<String>,
}

/// Exit codes of `lumenflow verify` (and the `exit_code` of a report).
pub mod exit {
    /// Valid and, where checkable, complete.
    pub const VALID: i32 = 0;
    /// Tampered or invalid.
    pub const TAMPERED: i32 = 1;
    /// Records missing from the end (against a checkpoint), or a bundle whose own
    /// checkpoint does not cover its last record.
    pub const INCOMPLETE: i32 = 2;
    /// Signed by a key the verifier was not given.
    pub const UNKNOWN_KEY: i32 = 3;
    /// Consistent, but no key was pinned: who signed is not proven (pin keys with
    /// `--key`).
    pub const UNPINNED: i32 = 4;
    /// Intact, but votes or overrides in it do not count ([`super::Report::uncounted`]).
    pub const UNCOUNTED: i32 = 5;
}

/// A report with its exit code, as bindings show it.
#[derive(Debug, Serialize)]
pub struct ReportView<'a> {
    /// The report.
    #[serde(flatten)]
    pub report: &'a Report,
    /// [`Report::exit_code`].
    pub exit_code: i32,
}

impl Report {
    /// The report as plain data (as `lumenflow verify --json`), plus `exit_code`.
    pub fn view(&self) -> ReportView<'_> {
        ReportView {
            report: self,
            exit_code: self.exit_code(),
        }
    }

    /// 0 valid, 1 tampered, 2 incomplete, 3 unknown key, 5 uncounted votes, 4 unpinned
    /// (in that order of precedence: tampering first, then unknown keys, then a missing
    /// tail, then votes or overrides that do not count, then keys the verifier did not
    /// pin).
    pub fn exit_code(&self) -> i32 {
        if matches!(self.integrity, Integrity::Broken(_)) {
            exit::TAMPERED
        } else if !self.unknown_keys.is_empty() {
            exit::UNKNOWN_KEY
        } else if matches!(
            self.completeness,
            Completeness::Incomplete { .. } | Completeness::Uncovered { .. }
        ) {
            exit::INCOMPLETE
        } else if !self.uncounted.is_empty() {
            exit::UNCOUNTED
        } else if !self.pinned {
            exit::UNPINNED
        } else {
            exit::VALID
        }
    }
}

/// Checks records pushed in log order.
#[derive(Debug, Clone)]
pub struct Verifier<'k> {
    keyring: &'k Keyring,
    stream: Option<String>,
    checkpoint: Option<Checkpoint>,
    next_seq: u64,
    prev: String,
    records: u64,
    broken: Option<Broken>,
    unknown: BTreeSet<String>,
    kinds: BTreeMap<String, u64>,
    head: Option<Head>,
    checkpoint_seen: bool,
    notes: Vec<String>,
}

impl<'k> Verifier<'k> {
    /// A verifier trusting the keys in `keyring`.
    pub fn new(keyring: &'k Keyring) -> Verifier<'k> {
        Verifier {
            keyring,
            stream: None,
            checkpoint: None,
            next_seq: 0,
            prev: GENESIS.to_owned(),
            records: 0,
            broken: None,
            unknown: BTreeSet::new(),
            kinds: BTreeMap::new(),
            head: None,
            checkpoint_seen: false,
            notes: Vec::new(),
        }
    }

    /// Expects every record to belong to `stream`.
    pub fn expect_stream(mut self, stream: &str) -> Self {
        self.stream = Some(stream.to_owned());
        self
    }

    /// Checks the log against a checkpoint kept elsewhere.
    pub fn with_checkpoint(mut self, checkpoint: Checkpoint) -> Self {
        match checkpoint.verify(self.keyring) {
            Ok(()) => {}
            Err(RecordError::UnknownKey(k)) => {
                self.unknown.insert(k);
            }
            Err(e) => {
                self.broken = Some(Broken {
                    seq: checkpoint.seq,
                    segment: "checkpoint".into(),
                    line: 1,
                    reason: format!("the checkpoint is invalid: {e}"),
                })
            }
        }
        // A valid checkpoint names the stream every record must belong to.
        if self.stream.is_none() && self.broken.is_none() {
            self.stream = Some(checkpoint.stream.clone());
        }
        if let Some(s) = &self.stream {
            if *s != checkpoint.stream && self.broken.is_none() {
                self.broken = Some(Broken {
                    seq: checkpoint.seq,
                    segment: "checkpoint".into(),
                    line: 1,
                    reason: format!(
                        "the checkpoint is for stream {}, not {s}",
                        checkpoint.stream
                    ),
                });
            }
        }
        self.checkpoint = Some(checkpoint);
        self
    }

    /// Adds a note to the report.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Checks the next line completely.
    pub fn push(&mut self, line: &RawLine) {
        let (parsed, sig) = check_line(line, self.keyring);
        self.push_checked(line, parsed, sig);
    }

    /// The sequential part of the checks, given the per-record results.
    fn push_checked(
        &mut self,
        line: &RawLine,
        parsed: Result<Record, RecordError>,
        sig: Result<(), RecordError>,
    ) {
        self.records += 1;
        if self.broken.is_some() {
            return;
        }
        let expected = self.next_seq;
        let fail = |reason: String, this: &mut Self| {
            this.broken = Some(Broken {
                seq: expected,
                segment: line.segment.clone(),
                line: line.line,
                reason,
            });
        };
        let rec = match parsed {
            Ok(r) => r,
            Err(e) => return fail(e.to_string(), self),
        };
        match &self.stream {
            None => self.stream = Some(rec.stream.clone()),
            Some(s) if *s != rec.stream => {
                return fail(
                    format!(
                        "record of another stream ({}) spliced into stream {s}",
                        rec.stream
                    ),
                    self,
                )
            }
            Some(_) => {}
        }
        if rec.seq != expected {
            return fail(format!("sequence number {} where {expected} was expected (records removed, inserted, repeated or reordered)", rec.seq), self);
        }
        if rec.prev != self.prev {
            return fail("does not link to the previous record's hash".into(), self);
        }
        match sig {
            Ok(()) => {}
            Err(RecordError::UnknownKey(k)) => {
                self.unknown.insert(k);
            }
            Err(e) => return fail(e.to_string(), self),
        }
        if let Some(c) = &self.checkpoint {
            if c.seq == rec.seq {
                self.checkpoint_seen = true;
                if c.head != rec.hash {
                    return fail(
                        "differs from the record the checkpoint signed (history rewritten)".into(),
                        self,
                    );
                }
            }
        }
        *self.kinds.entry(rec.kind.clone()).or_default() += 1;
        self.prev = rec.hash.clone();
        self.head = Some(rec.head());
        self.next_seq += 1;
    }

    /// The first break found, if any.
    pub fn broken(&self) -> Option<&Broken> {
        self.broken.as_ref()
    }

    /// Whether a break has been found.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// The verdicts.
    pub fn finish(self) -> Report {
        let last_seq = self.head.as_ref().map(|h| h.seq);
        let completeness = match &self.checkpoint {
            None => Completeness::Unchecked,
            Some(c) if last_seq.is_some_and(|s| s >= c.seq) => Completeness::Complete {
                checkpoint_seq: c.seq,
            },
            Some(c) => Completeness::Incomplete {
                last_seq,
                checkpoint_seq: c.seq,
            },
        };
        Report {
            records: self.records,
            stream: self.stream,
            head: self.head,
            integrity: match self.broken {
                Some(b) => Integrity::Broken(b),
                None => Integrity::Valid,
            },
            completeness,
            unknown_keys: self.unknown.into_iter().collect(),
            kinds: self.kinds,
            notes: self.notes,
            pinned: true,
            uncounted: Vec::new(),
        }
    }
}

/// The per-record checks, which need no other record: parsing, canonical form, the hash,
/// and the signature (checked only if the record parsed).
fn check_line(
    line: &RawLine,
    keyring: &Keyring,
) -> (Result<Record, RecordError>, Result<(), RecordError>) {
    let parsed = if line.complete {
        Record::parse(&line.bytes)
    } else {
        Err(RecordError::Malformed(
            "torn final line (a write cut short by a crash; opening the log for writing repairs it)".into(),
        ))
    };
    let sig = match &parsed {
        Ok(r) => r.check_signature(keyring),
        Err(_) => Ok(()),
    };
    (parsed, sig)
}

/// Verifies lines in order, doing the per-record work on every core. `progress` is called
/// with the number of records checked so far.
pub fn verify_lines(
    lines: &[RawLine],
    mut verifier: Verifier<'_>,
    progress: &dyn Fn(u64),
) -> Report {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let keyring = verifier.keyring;
    const BATCH: usize = 4096;
    for (b, batch) in lines.chunks(BATCH).enumerate() {
        let per = batch.len().div_ceil(threads).max(1);
        let results: Vec<(Result<Record, RecordError>, Result<(), RecordError>)> =
            std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(per)
                    .map(|chunk| {
                        s.spawn(move || {
                            chunk
                                .iter()
                                .map(|l| check_line(l, keyring))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|_| Vec::new()))
                    .collect()
            });
        if results.len() != batch.len() {
            // A worker panicked: check this batch one line at a time instead.
            batch.iter().for_each(|l| verifier.push(l));
        } else {
            for (line, (parsed, sig)) in batch.iter().zip(results) {
                verifier.push_checked(line, parsed, sig);
            }
        }
        progress(((b * BATCH) + batch.len()) as u64);
    }
    verifier.finish()
}
