//! `lumenflow`: check and test policies, decide actions.
//!
//! A thin shell over `lumenflow-core`: it parses arguments, reads files, calls the core
//! and prints. Exit codes: 0 success, 1 a failed check or bad input, 64 a usage error.

use clap::{Parser, Subcommand};
use lumenflow_core::testing::TestSuite;
use lumenflow_core::{Action, Context, Decision, Policy, PolicyError, PolicySet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for command-line usage errors (sysexits' EX_USAGE).
const EXIT_USAGE: u8 = 64;

/// Writes a line to standard output. If the reader has gone away (`lumenflow ... | head`),
/// exits quietly instead of panicking as `println!` would; any other write error exits 1.
fn emit(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("lumenflow: cannot write output: {e}");
        std::process::exit(1);
    }
}

macro_rules! outln {
    ($($t:tt)*) => { emit(format_args!($($t)*)) };
}

#[derive(Parser)]
#[command(
    name = "lumenflow",
    version,
    about = "Policy and evidence for AI agents: check and test policies, decide proposed actions.",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate policy files; lists every problem with file, rule, line and column.
    ///
    /// Exits 0 if every file is valid, 1 otherwise.
    Check {
        /// A policy file (YAML, or JSON by the .json extension); repeat for layers, most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decide one action against layered policies and print the decision.
    ///
    /// Exits 0 whatever the effect; 1 if a policy, the action or the context is invalid.
    Decide {
        /// A policy file; repeat for layers, most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// The action as a JSON file, or - for standard input.
        #[arg(long, value_name = "FILE|-")]
        action: String,
        /// The context as a JSON file (an object).
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// Print the full decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a policy test file: each case's action must get the expected effect (and rule).
    ///
    /// Prints pass/fail per case and the rules no case exercised; exits 1 on any failure.
    Test {
        /// A policy file; repeat for layers, most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// The test file (YAML): `context` and `cases` of {name, action, context?, expect, rule?}.
        #[arg(value_name = "TESTS.yaml")]
        tests: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Check { policies, json } => Ok(check(&policies, json)),
        Command::Decide {
            policies,
            action,
            context,
            json,
        } => {
            let set = load_set(&policies)?;
            let action = read_action(&action)?;
            let context = match context {
                Some(p) => read_context(&p)?,
                None => Context::new(),
            };
            let d = set.decide(&action, &context);
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?
                );
            } else {
                print_decision(&d);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Test { policies, tests } => {
            let set = load_set(&policies)?;
            let suite = TestSuite::from_file(&tests).map_err(|e| e.to_string())?;
            let report = suite.run(&set);
            for r in &report.results {
                match &r.failure {
                    None => outln!("PASS  {}", r.case.name),
                    Some(why) => outln!(
                        "FAIL  {} ({}:{}): {why}",
                        r.case.name,
                        tests.display(),
                        r.case.line
                    ),
                }
            }
            if report.unexercised.is_empty() {
                outln!("every rule was exercised by at least one case");
            } else {
                outln!("rules no case exercised:");
                for r in &report.unexercised {
                    outln!("  {}:{}", r.policy, r.rule);
                }
            }
            outln!("{} passed, {} failed", report.passed(), report.failed());
            Ok(if report.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn check(paths: &[PathBuf], json: bool) -> ExitCode {
    let mut ok = true;
    let mut out = Vec::new();
    for p in paths {
        match Policy::from_file(p) {
            Ok(policy) => {
                if json {
                    out.push(serde_json::json!({
                        "file": p.display().to_string(), "valid": true, "name": policy.name(),
                        "rules": policy.rules().len(), "digest": policy.digest(),
                    }));
                } else {
                    outln!(
                        "ok  {}: policy `{}`, {} rules, {}",
                        p.display(),
                        policy.name(),
                        policy.rules().len(),
                        policy.digest()
                    );
                }
            }
            Err(e) => {
                ok = false;
                if json {
                    let problems: Vec<serde_json::Value> = match &e {
                        PolicyError::Invalid(d) => d
                            .iter()
                            .map(|d| serde_json::to_value(d).unwrap_or_default())
                            .collect(),
                        other => vec![
                            serde_json::json!({"origin": p.display().to_string(), "message": other.to_string()}),
                        ],
                    };
                    out.push(serde_json::json!({"file": p.display().to_string(), "valid": false, "problems": problems}));
                } else {
                    eprintln!("{e}");
                }
            }
        }
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn load_set(paths: &[PathBuf]) -> Result<PolicySet, String> {
    let mut errors = Vec::new();
    let mut layers = Vec::new();
    for p in paths {
        match Policy::from_file(p) {
            Ok(policy) => layers.push(policy),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(PolicySet::new(layers))
    } else {
        Err(errors.join("\n"))
    }
}

fn read_text(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

fn read_action(path: &str) -> Result<Action, String> {
    let name = if path == "-" { "<stdin>" } else { path };
    Action::from_json(&read_text(path)?).map_err(|e| format!("{name}: {e}"))
}

fn read_context(path: &Path) -> Result<Context, String> {
    let text = read_text(&path.display().to_string())?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?;
    Context::from_value(value).map_err(|e| format!("{}: {e}", path.display()))
}

fn print_decision(d: &Decision) {
    outln!("{}: {}", d.effect, d.reason);
    for m in &d.matched {
        let why = m.reason.as_deref().unwrap_or("");
        outln!("  matched {}:{} -> {} {}", m.policy, m.rule, m.effect, why);
    }
    for e in &d.errors {
        outln!(
            "  error   {}:{}: {} (took {})",
            e.policy,
            e.rule,
            e.message,
            e.effect
        );
    }
    for w in &d.warnings {
        outln!("  warning {}: {}", w.policy, w.message);
    }
    if !d.approvers.is_empty() {
        outln!("  approvers: {}", d.approvers.join(", "));
    }
    for p in &d.policies {
        outln!("  policy  {} {}", p.name, p.digest);
    }
}
