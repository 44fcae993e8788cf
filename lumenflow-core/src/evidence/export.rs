//! Exporting and reading evidence: self-contained bundles, JSONL, CSV, filtered logs.
//!
//! A **bundle** is one file: a manifest line, then the log's records exactly as stored.
//! The manifest carries the stream id, the record count, the head, the SHA-256 of the
//! record lines, the public keys that signed them and the latest checkpoint, so
//! `lumenflow verify BUNDLE` can check it offline with nothing else.

use crate::evidence::canonical;
use crate::evidence::keys::{parse_public, Keyring};
use crate::evidence::record::{Checkpoint, Head, Record};
use crate::evidence::store::{
    published_keys, read_checkpoint, read_segments, split_lines, EvidenceError, RawLine,
};
use crate::evidence::verify::{verify_lines, Report, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The manifest line of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `lumenflow-bundle`.
    pub format: String,
    /// Bundle format version (1).
    pub v: u64,
    /// The stream id.
    pub stream: Option<String>,
    /// Number of record lines that follow.
    pub records: u64,
    /// The last record's position.
    pub head: Option<Head>,
    /// `sha256:` of the record lines (each with its newline), in order.
    pub records_digest: String,
    /// SPKI PEM public keys that signed records in the log.
    pub keys: Vec<String>,
    /// The latest checkpoint of the log, if it had one.
    pub checkpoint: Option<Checkpoint>,
    /// When the bundle was made.
    pub created: String,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A self-contained bundle (see the module docs).
    Bundle,
    /// The record lines only.
    Jsonl,
    /// A flat table for spreadsheets.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "bundle" => Ok(Format::Bundle),
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown export format `{other}` (bundle, jsonl, csv)"
            )),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn lines_digest(lines: &[RawLine]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for l in lines {
        h.update(&l.bytes);
        h.update(b"\n");
    }
    format!("sha256:{}", canonical::hex(&h.finalize()))
}

/// Whether `path` is a bundle file (rather than an evidence directory).
pub fn is_bundle(path: &Path) -> bool {
    path.is_file()
}

/// Reads a bundle: its manifest and its record lines.
pub fn read_bundle(path: &Path) -> Result<(Manifest, Vec<RawLine>), EvidenceError> {
    let data = std::fs::read(path).map_err(io_err(path))?;
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let manifest: Manifest =
        serde_json::from_slice(&data[..end]).map_err(|e| EvidenceError::Corrupt {
            path: path.display().to_string(),
            line: 1,
            reason: format!("not a LumenFlow bundle manifest: {e}"),
        })?;
    if manifest.format != "lumenflow-bundle" || manifest.v != 1 {
        return Err(EvidenceError::Corrupt {
            path: path.display().to_string(),
            line: 1,
            reason: "not a version 1 LumenFlow bundle".into(),
        });
    }
    let mut lines = Vec::new();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    split_lines(&name, data.get(end + 1..).unwrap_or_default(), &mut lines);
    // Bundle line numbers count the manifest.
    for l in &mut lines {
        l.line += 1;
    }
    Ok((manifest, lines))
}

/// The record lines of an evidence directory or a bundle.
pub fn read_lines(path: &Path) -> Result<Vec<RawLine>, EvidenceError> {
    if is_bundle(path) {
        Ok(read_bundle(path)?.1)
    } else {
        read_segments(&path.join("segments"))
    }
}

/// Parsed records of a directory or bundle, skipping nothing: a line that is not a
/// valid record is an error naming where it is.
pub fn read_records(path: &Path) -> Result<Vec<Record>, EvidenceError> {
    read_lines(path)?
        .into_iter()
        .map(|l| {
            Record::parse(&l.bytes).map_err(|e| EvidenceError::Corrupt {
                path: format!("{}/{}", path.display(), l.segment),
                line: l.line,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Writes `dir`'s log to `out` in `format`; returns the number of records. A bundle
/// carries the directory's own checkpoint, which may not cover the last record; use
/// [`export_signed`] so that a bundle proves its own completeness.
pub fn export(dir: &Path, out: &Path, format: Format) -> Result<u64, EvidenceError> {
    export_with(dir, out, format, None)
}

/// As [`export`], but a bundle carries a checkpoint of its last record signed with
/// `key` (and `key`'s public key among its keys): `verify` of the bundle then reports
/// incomplete if records were cut from its end, whatever the manifest says.
pub fn export_signed(
    dir: &Path,
    out: &Path,
    format: Format,
    key: &crate::evidence::keys::KeyPair,
) -> Result<u64, EvidenceError> {
    export_with(dir, out, format, Some(key))
}

fn export_with(
    dir: &Path,
    out: &Path,
    format: Format,
    key: Option<&crate::evidence::keys::KeyPair>,
) -> Result<u64, EvidenceError> {
    let lines = read_segments(&dir.join("segments"))?;
    let n = lines.len() as u64;
    match format {
        Format::Jsonl => {
            let mut buf = Vec::new();
            for l in &lines {
                buf.extend_from_slice(&l.bytes);
                buf.push(b'\n');
            }
            std::fs::write(out, buf).map_err(io_err(out))?;
        }
        Format::Bundle => {
            let head = lines
                .last()
                .and_then(|l| Record::parse(&l.bytes).ok())
                .map(|r| r.head());
            let stream = lines
                .first()
                .and_then(|l| Record::parse(&l.bytes).ok())
                .map(|r| r.stream);
            let mut keys = published_keys(dir)?;
            let checkpoint = match (key, &stream, &head) {
                (Some(k), Some(stream), Some(head)) => {
                    let pem = k.public_pem();
                    if !keys.iter().any(|p| p.trim() == pem.trim()) {
                        keys.push(pem);
                    }
                    Some(Checkpoint::seal(
                        stream,
                        head,
                        &crate::evidence::record::timestamp(chrono::Utc::now()),
                        k,
                    ))
                }
                _ => read_checkpoint(dir)?,
            };
            let manifest = Manifest {
                format: "lumenflow-bundle".into(),
                v: 1,
                stream,
                records: n,
                head,
                records_digest: lines_digest(&lines),
                keys,
                checkpoint,
                created: crate::evidence::record::timestamp(chrono::Utc::now()),
            };
            let mut buf =
                canonical::to_vec(&manifest).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
            buf.push(b'\n');
            for l in &lines {
                buf.extend_from_slice(&l.bytes);
                buf.push(b'\n');
            }
            std::fs::write(out, buf).map_err(io_err(out))?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_path(out)
                .map_err(|e| EvidenceError::Invalid(format!("{}: {e}", out.display())))?;
            w.write_record(CSV_COLUMNS)
                .map_err(|e| EvidenceError::Invalid(e.to_string()))?;
            for l in &lines {
                let rec = Record::parse(&l.bytes)?;
                w.write_record(csv_row(&rec).iter().map(|c| csv_cell(c).into_owned()))
                    .map_err(|e| EvidenceError::Invalid(e.to_string()))?;
            }
            w.flush().map_err(io_err(out))?;
        }
    }
    Ok(n)
}

/// The columns of the CSV export.
pub const CSV_COLUMNS: [&str; 15] = [
    "seq",
    "ts",
    "kind",
    "id",
    "key",
    "session",
    "actor",
    "tool",
    "effect",
    "decided_by",
    "rules",
    "status",
    "decision",
    "override",
    "reason",
];

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A CSV cell that a spreadsheet will not run: one starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return (a formula, or one in disguise) is prefixed with `'`.
pub fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Text from a record made safe for a terminal: control characters (escape sequences
/// that could hide or rewrite lines, newlines, NUL, DEL, C1 controls) are shown escaped,
/// as `\u{1b}`, instead of being sent to the terminal.
pub fn terminal_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// One record as a CSV row (see [`CSV_COLUMNS`]).
pub fn csv_row(rec: &Record) -> Vec<String> {
    let b = &rec.body;
    let action = b.get("action");
    let d = b.get("decision").filter(|d| d.is_object());
    let rules = d
        .and_then(|d| d.get("deciding_rules"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| format!("{}:{}", s(r.get("policy")), s(r.get("rule"))))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    vec![
        rec.seq.to_string(),
        rec.ts.clone(),
        rec.kind.clone(),
        rec.id(),
        rec.key.clone(),
        s(action.and_then(|a| a.get("session"))),
        s(action
            .and_then(|a| a.get("actor"))
            .and_then(|a| a.get("id"))),
        s(action.and_then(|a| a.get("tool"))),
        s(d.and_then(|d| d.get("effect"))),
        s(d.and_then(|d| d.get("decided_by"))),
        rules,
        s(b.get("status")),
        s(b.get("decision").filter(|d| d.is_string())),
        if rec.kind == crate::evidence::record::kind::OVERRIDE {
            "yes".into()
        } else {
            String::new()
        },
        s(d.and_then(|d| d.get("reason"))
            .or_else(|| b.get("reason"))
            .or_else(|| b.get("error"))),
    ]
}

/// A filter for [`filter_records`].
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only records of this kind.
    pub kind: Option<String>,
    /// Only records of this session (decisions by their action; outcomes by their decision's).
    pub session: Option<String>,
    /// Only records at or after this time.
    pub since: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The records that pass `filter`, in order.
pub fn filter_records(records: Vec<Record>, filter: &LogFilter) -> Vec<Record> {
    let mut session_of: std::collections::HashMap<String, String> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for r in records {
        let session = match r
            .body
            .get("action")
            .and_then(|a| a.get("session"))
            .and_then(Value::as_str)
        {
            Some(s) => {
                session_of.insert(r.id(), s.to_owned());
                Some(s.to_owned())
            }
            None => r
                .body
                .get("decision")
                .and_then(Value::as_str)
                .and_then(|d| session_of.get(d).cloned()),
        };
        if filter.kind.as_ref().is_some_and(|k| *k != r.kind) {
            continue;
        }
        if filter
            .session
            .as_ref()
            .is_some_and(|s| session.as_deref() != Some(s))
        {
            continue;
        }
        if let Some(since) = filter.since {
            match chrono::DateTime::parse_from_rfc3339(&r.ts) {
                Ok(t) if t >= since => {}
                _ => continue,
            }
        }
        out.push(r);
    }
    out
}

/// The votes and overrides of an intact log that do not count: the log's records signed
/// by a trusted key are folded as a governor folds them, and what the fold ignored is
/// listed.
fn uncounted(
    lines: &[RawLine],
    keyring: &Keyring,
    registry: Option<&std::sync::Arc<crate::govern::registry::Registry>>,
) -> Vec<String> {
    use crate::govern::approval::VoteTrust;
    let trust = registry.map_or(VoteTrust::Host, |r| VoteTrust::Registry(r.clone()));
    let mut state = crate::govern::state::State::with_trust(trust);
    for l in lines {
        if let Ok(rec) = Record::parse(&l.bytes) {
            if keyring.get(&rec.key).is_some() {
                state.apply(&rec);
            }
        }
    }
    state.ignored_votes().to_vec()
}

/// Verifies a bare JSONL log (record lines only, as `export` writes with
/// [`Format::Jsonl`], or a segment's bytes) against the trusted `keys` and, to detect a
/// missing tail, a `checkpoint`. `name` names the data in the report's notes.
pub fn verify_records(
    name: &str,
    data: &[u8],
    keys: &Keyring,
    checkpoint: Option<Checkpoint>,
) -> Report {
    let mut lines = Vec::new();
    crate::evidence::store::split_lines(name, data, &mut lines);
    let mut v = Verifier::new(keys);
    if let Some(c) = checkpoint {
        v = v.with_checkpoint(c);
    }
    crate::evidence::verify::verify_lines(&lines, v, &|_| {})
}

/// Verifies an evidence directory or a bundle. With no `keys`, the keys shipped with the
/// log are used (and the report says so: that proves consistency, not who signed). With
/// no `checkpoint`, the log's own latest checkpoint is used if it has one. Votes and
/// overrides are judged as their writer judged them, by the embedding program's word
/// ([`verify_path_with`] judges them by an approver registry).
pub fn verify_path(
    path: &Path,
    keys: Option<&Keyring>,
    checkpoint: Option<Checkpoint>,
    progress: &dyn Fn(u64),
) -> Result<Report, EvidenceError> {
    verify_path_with(path, keys, checkpoint, None, progress)
}

/// [`verify_path`], with votes and overrides judged by an approver `registry` (as a
/// governor given it judges them): those that do not count are listed in
/// [`Report::uncounted`].
pub fn verify_path_with(
    path: &Path,
    keys: Option<&Keyring>,
    checkpoint: Option<Checkpoint>,
    registry: Option<&std::sync::Arc<crate::govern::registry::Registry>>,
    progress: &dyn Fn(u64),
) -> Result<Report, EvidenceError> {
    let mut notes = Vec::new();
    let bundle = is_bundle(path);
    let (lines, shipped_keys, shipped_checkpoint, bundle_problem) = if bundle {
        let (m, lines) = read_bundle(path)?;
        let shipped: Vec<(String, String)> = m
            .keys
            .iter()
            .map(|k| ("bundle manifest".to_owned(), k.clone()))
            .collect();
        let mut problem = None;
        if lines_digest(&lines) != m.records_digest || lines.len() as u64 != m.records {
            problem =
                Some("the records do not match the bundle manifest's digest and count".to_owned());
        }
        (lines, shipped, m.checkpoint, problem)
    } else {
        if !path.join("segments").is_dir() {
            return Err(EvidenceError::Invalid(format!(
                "{}: not an evidence directory (no segments/) nor a bundle file",
                path.display()
            )));
        }
        let lines = read_segments(&path.join("segments"))?;
        // Read only when no keys are given (a bad file there cannot stop a pinned verify).
        let shipped = if keys.is_none() {
            published_keys(path)?
                .into_iter()
                .map(|pem| (format!("{}/keys", path.display()), pem))
                .collect()
        } else {
            Vec::new()
        };
        (lines, shipped, read_checkpoint(path)?, None)
    };
    let keyring = match keys {
        Some(k) => {
            notes.push(format!("keys: {} given by the verifier", k.ids().count()));
            k.clone()
        }
        None => {
            notes.push("keys: those shipped with the log (pin trusted keys with --key to detect a substituted key)".into());
            let mut ring = Keyring::new();
            for (whence, pem) in &shipped_keys {
                match parse_public(pem, whence) {
                    Ok(k) => {
                        ring.add(k);
                    }
                    Err(e) => notes.push(format!("keys: one shipped key was skipped: {e}")),
                }
            }
            ring
        }
    };
    let given_checkpoint = checkpoint.as_ref().map(|c| c.seq);
    // A bundle proves its own completeness only through a checkpoint it carries.
    let bundle_checkpoint_seq = shipped_checkpoint.as_ref().map(|c| c.seq);
    let checkpoint = match checkpoint {
        Some(c) => {
            notes.push(format!("checkpoint: given by the verifier (seq {})", c.seq));
            Some(c)
        }
        None => {
            if let Some(c) = &shipped_checkpoint {
                notes.push(format!("checkpoint: the log's own (seq {}); keep checkpoints elsewhere to detect a truncated tail", c.seq));
            } else {
                notes.push("checkpoint: none, so a missing tail cannot be detected".into());
            }
            shipped_checkpoint
        }
    };
    let mut v = Verifier::new(&keyring);
    if !bundle {
        if let Ok(stream) = std::fs::read_to_string(path.join("stream")) {
            v = v.expect_stream(stream.trim());
        }
    }
    if let Some(c) = checkpoint {
        v = v.with_checkpoint(c);
    }
    for n in notes {
        v.note(n);
    }
    let mut report = verify_lines(&lines, v, progress);
    report.pinned = keys.is_some();
    if bundle && given_checkpoint.is_none() {
        if let Some(last) = report.head.as_ref().map(|h| h.seq) {
            if bundle_checkpoint_seq.is_none_or(|c| c < last) {
                report.completeness = crate::evidence::verify::Completeness::Uncovered {
                    last_seq: last,
                    checkpoint_seq: bundle_checkpoint_seq,
                };
                report.notes.push(
                    "the bundle's checkpoint does not cover its last record: export it with --key, or verify against a checkpoint kept elsewhere".into(),
                );
            }
        }
    }
    if matches!(report.integrity, crate::evidence::verify::Integrity::Valid) {
        report.uncounted = uncounted(&lines, &keyring, registry);
    }
    if let Some(p) = bundle_problem {
        if matches!(report.integrity, crate::evidence::verify::Integrity::Valid) {
            report.integrity =
                crate::evidence::verify::Integrity::Broken(crate::evidence::verify::Broken {
                    seq: 0,
                    segment: "manifest".into(),
                    line: 1,
                    reason: p,
                });
        }
    }
    Ok(report)
}
