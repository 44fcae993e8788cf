//! The evidence commands: keygen, record, verify, export, log, checkpoint (the hook
//! modes of decide and record are in `hook_cmd`). Each parses its input, calls the core, and prints.

use crate::{load_set, ExportFormat, StatusArg};
use lumenflow_core::{
    csv_row, export as export_log, export_signed, filter_records, public_path, read_records,
    terminal_text, timestamp, verify_path_with, write_checkpoint, Checkpoint, Completeness,
    Context, ExportFormat as Format, Governor, GovernorOptions, Integrity, KeyPair, Keyring,
    LogFilter, Outcome, PolicySet, Report, Status,
};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A governor for one CLI invocation: its decisions stay open for `lumenflow record`.
pub fn governor(
    dir: &Path,
    key: &Path,
    set: PolicySet,
    context: Context,
    host_approves: bool,
) -> Result<Governor, String> {
    let key = KeyPair::from_file(key).map_err(|e| e.to_string())?;
    let options = GovernorOptions {
        context,
        close_open_on_exit: false,
        host_approves,
        registry: Some(crate::registry()?),
        ..GovernorOptions::default()
    };
    Governor::open(dir, set, key, options).map_err(|e| e.to_string())
}

pub(crate) fn status(s: StatusArg) -> Status {
    match s {
        StatusArg::Success => Status::Success,
        StatusArg::Failure => Status::Failure,
        StatusArg::Denied => Status::Denied,
        StatusArg::Unknown => Status::Unknown,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn record(
    dir: &Path,
    key: &Path,
    decision: Option<String>,
    st: Option<StatusArg>,
    output: Option<PathBuf>,
    error: Option<String>,
    duration_ms: Option<u64>,
    (cost, tokens, policies): (Option<f64>, Option<i64>, &[PathBuf]),
) -> Result<ExitCode, String> {
    let set = if policies.is_empty() {
        PolicySet::new(vec![])
    } else {
        load_set(policies)?
    };
    let g = governor(dir, key, set, Context::new(), false)?;
    let id = decision.ok_or("--decision is required")?;
    let mut outcome = Outcome::new(status(st.ok_or("--status is required")?));
    if let Some(p) = output {
        let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        outcome = outcome.with_output(&bytes);
    }
    if error.is_some() {
        outcome.error = error;
    }
    if duration_ms.is_some() {
        outcome.duration_ms = duration_ms;
    }
    outcome.cost = cost.or(outcome.cost);
    outcome.tokens = tokens.or(outcome.tokens);
    let rec = g.record(&id, outcome).map_err(|e| e.to_string())?;
    outln!("recorded outcome {} for decision {id}", rec.id());
    Ok(ExitCode::SUCCESS)
}

pub fn keygen(out: &Path) -> Result<ExitCode, String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    key.write_files(out).map_err(|e| e.to_string())?;
    outln!("key {}", key.id());
    outln!("private key: {} (mode 0600; keep it secret)", out.display());
    outln!("public key:  {}", public_path(out).display());
    Ok(ExitCode::SUCCESS)
}

pub fn verify(path: &Path, checkpoint: Option<&Path>, keys: &[PathBuf], json: bool) -> ExitCode {
    let run = || -> Result<Report, (u8, String)> {
        let keyring = if keys.is_empty() {
            None
        } else {
            let mut ring = Keyring::new();
            for k in keys {
                ring.add_file(k).map_err(|e| (66, e.to_string()))?;
            }
            Some(ring)
        };
        let cp = match checkpoint {
            Some(p) => {
                let t = std::fs::read_to_string(p)
                    .map_err(|e| (66, format!("{}: {e}", p.display())))?;
                Some(Checkpoint::parse(&t).map_err(|e| (1, format!("{}: {e}", p.display())))?)
            }
            None => None,
        };
        if !path.exists() {
            return Err((66, format!("{}: no such file or directory", path.display())));
        }
        let registry = crate::given_registry().map_err(|e| (66, e))?;
        let bar = progress_bar();
        let report = verify_path_with(path, keyring.as_ref(), cp, registry.as_ref(), &|n| {
            if let Some(b) = &bar {
                b.set_position(n);
            }
        })
        .map_err(|e| (66, e.to_string()))?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        Ok(report)
    };
    match run() {
        Ok(report) => {
            if json {
                let mut v = serde_json::to_value(&report).unwrap_or_default();
                v["exit_code"] = serde_json::json!(report.exit_code());
                outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                print_report(&report);
            }
            ExitCode::from(report.exit_code() as u8)
        }
        Err((code, msg)) => {
            eprintln!("lumenflow verify: {msg}");
            ExitCode::from(code)
        }
    }
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new_spinner();
    b.set_style(
        indicatif::ProgressStyle::with_template("{spinner} verified {pos} records ({per_sec})")
            .ok()?,
    );
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(b)
}

fn print_report(r: &Report) {
    let stream = r.stream.as_deref().unwrap_or("(empty)");
    outln!("stream     {stream}");
    outln!("records    {}", r.records);
    match &r.integrity {
        Integrity::Valid => outln!("integrity  valid: canonical form, hashes, signatures, sequence and links all check out"),
        Integrity::Broken(b) => outln!(
            "integrity  TAMPERED at seq {} ({} line {}): {}",
            b.seq, b.segment, b.line, b.reason
        ),
    }
    match &r.completeness {
        Completeness::Complete { checkpoint_seq } => outln!("complete   yes: the log reaches the checkpoint (seq {checkpoint_seq})"),
        Completeness::Incomplete { last_seq, checkpoint_seq } => outln!(
            "complete   NO: the log ends at {} but the checkpoint is at seq {checkpoint_seq} (records missing from the end)",
            last_seq.map_or("the start".to_owned(), |s| format!("seq {s}"))
        ),
        Completeness::Unchecked => outln!("complete   unknown: no checkpoint"),
        Completeness::Uncovered { last_seq, checkpoint_seq } => outln!(
            "complete   NOT PROVEN: the bundle ends at seq {last_seq} but its checkpoint covers {}",
            checkpoint_seq.map_or("nothing".to_owned(), |s| format!("only seq {s}"))
        ),
    }
    if !r.unknown_keys.is_empty() {
        outln!(
            "keys       UNKNOWN signing key(s): {}",
            r.unknown_keys.join(", ")
        );
    } else if !r.pinned {
        outln!(
            "keys       NOT PINNED: consistent, but who signed is not proven (pin keys with --key)"
        );
    }
    if !r.uncounted.is_empty() {
        outln!(
            "approvals  {} vote(s) or override(s) that DO NOT COUNT (written around the governor's checks):",
            r.uncounted.len()
        );
        for u in &r.uncounted {
            outln!("             {}", terminal_text(u));
        }
    }
    for n in &r.notes {
        outln!("note       {n}");
    }
}

pub fn export(
    dir: &Path,
    out: &Path,
    format: ExportFormat,
    key: Option<&Path>,
) -> Result<ExitCode, String> {
    let f = match format {
        ExportFormat::Bundle => Format::Bundle,
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Csv => Format::Csv,
    };
    if !dir.join("segments").is_dir() {
        return Err(format!("{}: not an evidence directory", dir.display()));
    }
    let n = match key {
        Some(k) => {
            let key = KeyPair::from_file(k).map_err(|e| e.to_string())?;
            export_signed(dir, out, f, &key)
        }
        None => export_log(dir, out, f),
    }
    .map_err(|e| e.to_string())?;
    outln!("exported {n} records to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("--since {s}: expected RFC 3339 or an age like 30m, 2h, 7d"))?;
    let d = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return Err(format!("--since {s}: unit must be s, m, h or d")),
    };
    Ok((chrono::Utc::now() - d).fixed_offset())
}

pub fn log(
    path: &Path,
    kind: Option<String>,
    session: Option<String>,
    since: Option<String>,
    json: bool,
) -> Result<ExitCode, String> {
    let since = since.as_deref().map(parse_since).transpose()?;
    let records = read_records(path).map_err(|e| e.to_string())?;
    let filter = LogFilter {
        kind,
        session,
        since,
    };
    print_records(filter_records(records, &filter), json);
    Ok(ExitCode::SUCCESS)
}

/// Prints records one a line: JSON lines, or a table for people.
pub fn print_records(records: Vec<lumenflow_core::Record>, json: bool) {
    for r in records {
        if json {
            outln!("{}", String::from_utf8_lossy(&r.to_line()));
            continue;
        }
        let row = csv_row(&r);
        // seq ts kind | session actor tool effect rules | status decision | override reason
        let what = match r.kind.as_str() {
            "decision" => format!(
                "{} {} by {} [{}] {}{}",
                row[8],
                row[7],
                row[6],
                row[5],
                row[10],
                match row[9].as_str() {
                    "rule" | "default" | "" => String::new(),
                    by => format!(" ({})", by.replace('_', " ")),
                }
            ),
            "outcome" => format!("{} for {}", row[11], row[12]),
            "override" => format!("OVERRIDE {}", row[14]),
            "approval" => format!(
                "{} by {} on {}: {}",
                r.body["verdict"].as_str().unwrap_or_default(),
                r.body["approver"]["id"].as_str().unwrap_or_default(),
                r.body["request"].as_str().unwrap_or_default(),
                r.body["reason"].as_str().unwrap_or_default()
            ),
            _ => row[14].clone(),
        };
        // Reasons and arguments are the agent's text: never let them drive the terminal.
        outln!(
            "{:>6}  {}  {:<9} {}",
            r.seq,
            r.ts,
            r.kind,
            terminal_text(what.trim())
        );
    }
}

pub fn repair(dir: &Path, key: &Path, trust: &[PathBuf], reason: &str) -> Result<ExitCode, String> {
    let key = KeyPair::from_file(key).map_err(|e| e.to_string())?;
    let mut ring = Keyring::new();
    for t in trust {
        ring.add_file(t).map_err(|e| e.to_string())?;
    }
    let rec =
        lumenflow_core::repair_dir(dir, &key, Some(&ring), reason).map_err(|e| e.to_string())?;
    outln!(
        "repaired {}: recovery record {} (seq {})",
        dir.display(),
        rec.id(),
        rec.seq
    );
    outln!(
        "{}",
        serde_json::to_string_pretty(&rec.body).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn checkpoint(dir: &Path, key: &Path, out: Option<&Path>) -> Result<ExitCode, String> {
    let key = KeyPair::from_file(key).map_err(|e| e.to_string())?;
    let records = read_records(dir).map_err(|e| e.to_string())?;
    let Some(last) = records.last() else {
        return Err(format!(
            "{}: the log is empty; nothing to checkpoint",
            dir.display()
        ));
    };
    let c = Checkpoint::seal(
        &last.stream,
        &last.head(),
        &timestamp(chrono::Utc::now()),
        &key,
    );
    let text = format!("{}\n", c.to_json());
    // Atomically, and never behind the checkpoint the directory already has.
    write_checkpoint(dir, &c).map_err(|e| e.to_string())?;
    if let Some(o) = out {
        std::fs::write(o, &text).map_err(|e| format!("{}: {e}", o.display()))?;
    }
    outln!("{}", text.trim());
    Ok(ExitCode::SUCCESS)
}
