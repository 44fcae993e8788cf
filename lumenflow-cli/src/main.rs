//! `lumenflow`: check and test policies, decide actions.
//!
//! A thin shell over `lumenflow-core`: it parses arguments, reads files, calls the core
//! and prints. Exit codes: 0 success, 1 a failed check or bad input, 64 a usage error.

use clap::{Parser, Subcommand};
use lumenflow_core::{
    Action, Choice, Context, Decision, Policy, PolicyError, PolicySet, TestSuite,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for command-line usage errors (sysexits' EX_USAGE).
const EXIT_USAGE: u8 = 64;

/// Writes a line to standard output. If the reader has gone away (`lumenflow ... | head`),
/// exits quietly instead of panicking as `println!` would; any other write error exits 1.
pub(crate) fn emit(args: std::fmt::Arguments) {
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

#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::emit(format_args!($($t)*)) };
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
    /// The approver registry (YAML): who may approve, bound to their keys. A vote counts
    /// only if signed by a key it registers (or attested by an attester it declares);
    /// without it, no vote counts. Give it to every command that reads or writes
    /// approvals (decide, record, approve, reject, approvals, verify).
    #[arg(long, global = true, value_name = "FILE")]
    registry: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

static REGISTRY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The approver registry given with `--registry`, or an empty one: the command line
/// authenticates nobody itself, so without a registry no vote counts. Loaded when a
/// command needs it, so that a hook answers its blocking form if it is bad.
pub(crate) fn registry() -> Result<std::sync::Arc<lumenflow_core::Registry>, String> {
    match REGISTRY.get().and_then(Option::as_ref) {
        Some(p) => lumenflow_core::Registry::load(p)
            .map(std::sync::Arc::new)
            .map_err(|e| format!("approver registry: {e}")),
        None => Ok(std::sync::Arc::new(lumenflow_core::Registry::empty())),
    }
}

/// The approver registry given with `--registry`, if one was (`verify` judges votes by
/// the embedding program's word without one).
pub(crate) fn given_registry() -> Result<Option<std::sync::Arc<lumenflow_core::Registry>>, String> {
    match REGISTRY.get().and_then(Option::as_ref) {
        Some(_) => registry().map(Some),
        None => Ok(None),
    }
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
    /// With --evidence and --key, the decision is recorded as a signed evidence record
    /// first and its id printed (close it later with `lumenflow record`). With
    /// --hook CLIENT, the event is read from standard input and answered in that
    /// client's protocol, as `lumenflow hook --client CLIENT` does (any failure blocks;
    /// spec/hooks.md). Exits 0 whatever the effect; 1 if a policy, the action or the context
    /// is invalid or the evidence cannot be written.
    Decide {
        /// A policy file; repeat for layers, most general first.
        #[arg(
            long = "policy",
            short = 'p',
            value_name = "FILE",
            required_unless_present = "server"
        )]
        policies: Vec<PathBuf>,
        /// Ask the daemon on this socket (`lumenflow serve`) instead of deciding in-process:
        /// no policy, key or evidence directory is read here. See spec/serve.md.
        #[arg(long, value_name = "SOCKET")]
        #[arg(conflicts_with_all = ["evidence", "key"])]
        server: Option<PathBuf>,

        /// The action as a JSON file, or - for standard input.
        #[arg(
            long,
            value_name = "FILE|-",
            required_unless_present = "hook",
            conflicts_with = "hook"
        )]
        action: Option<String>,
        /// Read a coding agent's pre-tool-use hook event on standard input and answer in its protocol.
        #[arg(long, value_enum)]
        hook: Option<Hook>,
        /// The context as a JSON file (an object).
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// Print the full decision as JSON.
        #[arg(long)]
        json: bool,
        /// Record the decision in this evidence directory (created if missing).
        #[arg(long, value_name = "DIR", requires = "key")]
        evidence: Option<PathBuf>,
        /// The private key (from `lumenflow keygen`) that signs evidence.
        #[arg(long, value_name = "FILE", requires = "evidence")]
        key: Option<PathBuf>,
    },
    /// Record the outcome of a decided action (closing its decision record).
    ///
    /// With --hook CLIENT, reads that client's after-event (e.g. Claude Code's PostToolUse
    /// or PostToolUseFailure) on standard input and closes the decisions recorded for the
    /// same call, as `lumenflow hook --client CLIENT` does.
    Record {
        /// The evidence directory.
        #[arg(required_unless_present = "server")]
        dir: Option<PathBuf>,
        /// The private key that signs evidence.
        #[arg(long, value_name = "FILE", required_unless_present = "server")]
        key: Option<PathBuf>,
        /// Ask the daemon on this socket (`lumenflow serve`) instead of deciding in-process:
        /// no policy, key or evidence directory is read here. See spec/serve.md.
        #[arg(long, value_name = "SOCKET")]
        #[arg(conflicts_with_all = ["dir", "key", "policies"])]
        server: Option<PathBuf>,

        /// The decision's id (as printed by `lumenflow decide --evidence`), or its sequence number.
        #[arg(long, value_name = "ID", required_unless_present = "hook")]
        decision: Option<String>,
        /// How it went.
        #[arg(long, value_enum, required_unless_present = "hook")]
        status: Option<StatusArg>,
        /// A file with the tool's output (only its digest is recorded).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// An error message (redacted before recording).
        #[arg(long, value_name = "TEXT")]
        error: Option<String>,
        /// How long the action took, in milliseconds.
        #[arg(long, value_name = "MS")]
        duration_ms: Option<u64>,
        /// What the action actually cost (settles budgets charged on action.cost).
        #[arg(long, value_name = "AMOUNT")]
        cost: Option<f64>,
        /// Tokens it actually consumed (settles budgets charged on action.tokens).
        #[arg(long, value_name = "N")]
        tokens: Option<i64>,
        /// The policy files whose budgets settle with --cost/--tokens.
        #[arg(long = "policy", short = 'p', value_name = "FILE")]
        policies: Vec<PathBuf>,
        /// Read a coding agent's post-tool-use hook event on standard input.
        #[arg(long, value_enum, conflicts_with_all = ["decision", "status"])]
        hook: Option<Hook>,
    },
    /// Answer a coding agent's hook event (standard input) in that client's protocol.
    ///
    /// A before-event (PreToolUse, beforeShellExecution, BeforeTool, preToolUse, ...) is
    /// decided and answered allow, deny or ask in the client's JSON; an after-event
    /// (PostToolUse, PostToolUseFailure, AfterTool, afterShellExecution, postToolUse, ...)
    /// closes the decisions of the same call. Anything that fails answers the client's
    /// blocking form, and is recorded when --evidence and --key are given. The worktree is
    /// --project-dir, else the context's, else the client's project directory (e.g.
    /// CLAUDE_PROJECT_DIR), never a cwd that follows the agent's `cd`. See spec/hooks.md.
    Hook {
        /// The client whose protocol the event is in.
        #[arg(long, value_enum)]
        client: Hook,
        /// A policy file; repeat for layers, most general first (needed to decide).
        #[arg(long = "policy", short = 'p', value_name = "FILE")]
        policies: Vec<PathBuf>,
        /// The context as a JSON file (an object).
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// The evidence directory (decisions, outcomes and the call index).
        #[arg(long, value_name = "DIR", requires = "key")]
        evidence: Option<PathBuf>,
        /// The private key that signs evidence.
        #[arg(long, value_name = "FILE", requires = "evidence")]
        key: Option<PathBuf>,
        /// The project directory (context.worktree) when the context does not give one.
        #[arg(long, value_name = "DIR")]
        project_dir: Option<PathBuf>,
        /// Decide and record through the daemon on this socket (`lumenflow serve`): no
        /// policy, key or evidence is read here, and any failure (daemon down, timeout,
        /// bad answer) blocks the call. See spec/hooks.md, Daemon mode.
        #[arg(long, value_name = "SOCKET", conflicts_with_all = ["policies", "evidence", "key"])]
        server: Option<PathBuf>,
        /// Daemon mode: seconds to wait for a person on require_approval (default: the
        /// daemon's hook.wait_seconds).
        #[arg(long, value_name = "SECONDS", requires = "server")]
        wait: Option<u64>,
        /// Daemon mode: this user's call index directory (default $XDG_RUNTIME_DIR/lumenflow,
        /// else $HOME/.cache/lumenflow).
        #[arg(long, value_name = "DIR", requires = "server")]
        calls: Option<PathBuf>,
        /// Daemon mode: milliseconds to wait for each answer of the daemon before the
        /// call is blocked.
        #[arg(long, value_name = "MS", requires = "server", default_value_t = 5000)]
        timeout_ms: u64,
    },
    /// Run as a git hook: decide a commit (pre-commit) or each ref a push updates
    /// (pre-push) against the policy, recorded like any action (tool "git"). Exits 0 to
    /// let git go on, 1 to stop it (deny, approval required, or any failure).
    GitHook {
        /// Which hook.
        #[arg(value_enum)]
        hook: GitHookName,
        /// The arguments git gives the hook (pre-push: remote name and URL).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
        /// A policy file; repeat for layers, most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// The context as a JSON file (worktree defaults to the repository's top level).
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// The evidence directory.
        #[arg(long, value_name = "DIR", requires = "key")]
        evidence: Option<PathBuf>,
        /// The private key that signs evidence.
        #[arg(long, value_name = "FILE", requires = "evidence")]
        key: Option<PathBuf>,
    },
    /// Install LumenFlow's pre-commit and pre-push hooks in a repository (its hooks
    /// directory, honouring core.hooksPath). Refuses to replace a hook LumenFlow did not
    /// write unless --force (which keeps the old one as <hook>.lumenflow-backup).
    InstallGitHooks {
        /// The repository (default: the current directory's).
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// A policy file the hooks use; repeat for layers.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// The evidence directory the hooks record in.
        #[arg(long, value_name = "DIR", requires = "key")]
        evidence: Option<PathBuf>,
        /// The private key the hooks sign with.
        #[arg(long, value_name = "FILE", requires = "evidence")]
        key: Option<PathBuf>,
        /// A context file the hooks use.
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// Replace hooks LumenFlow did not write (keeping a backup).
        #[arg(long)]
        force: bool,
    },
    /// Govern an MCP server: a proxy on which every `tools/call` is decided against the
    /// policy and recorded (decision before the server sees it, then its outcome).
    ///
    /// Stdio: `lumenflow mcp --policy P --evidence D --key K --server-name fs -- npx -y
    /// @modelcontextprotocol/server-filesystem /tmp/x` launches the server and speaks MCP
    /// on standard input and output. Streamable HTTP: `--url http://host/mcp --listen
    /// 127.0.0.1:0` fronts that server and serves `http://<listen>/mcp` (the address is
    /// printed on standard error). A deny, an open approval request or any failure is a
    /// tool result with isError and the reason. See spec/mcp.md.
    Mcp {
        /// A policy file; repeat for layers, most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// The evidence directory (created if missing).
        #[arg(long, visible_alias = "dir", value_name = "DIR")]
        evidence: PathBuf,
        /// The private key that signs evidence.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The server's name in action tools: `mcp:<server-name>/<tool>`.
        #[arg(long, value_name = "NAME")]
        server_name: String,
        /// The context as a JSON file (an object).
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// The project directory (context.worktree) when the context does not give one
        /// (default: the current directory).
        #[arg(long, value_name = "DIR")]
        project_dir: Option<PathBuf>,
        /// Hide from tools/list the tools the policy denies whatever their arguments.
        #[arg(long)]
        hide_denied: bool,
        /// What the proxy knows of the server's tools (default: detected from its name).
        #[arg(long, value_parser = ["generic", "filesystem"])]
        profile: Option<String>,
        /// The session actions are proposed in.
        #[arg(long, default_value = "")]
        session: String,
        /// What an evidence append promises: sync, group (default) or none.
        #[arg(long, default_value = "group")]
        durability: String,
        /// Front this Streamable HTTP server instead of launching a command.
        #[arg(long, value_name = "URL", conflicts_with = "command")]
        url: Option<String>,
        /// Serve Streamable HTTP on this loopback address instead of standard input and output.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// The server command and its arguments (after `--`).
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Run the governing daemon: agents reach it only through its Unix socket (decide,
    /// record, their own requests); it holds the key, the policy and the evidence. Runs
    /// until SIGTERM or SIGINT. See spec/serve.md.
    Serve {
        /// The daemon's configuration (YAML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print the `secret_hash` (Argon2id) of a console person's secret, read from
    /// standard input (one line; at least 12 bytes), for the daemon's `http.people`.
    HashSecret,
    /// Make a signing key: writes FILE (private, mode 0600) and FILE.pub (public).
    Keygen {
        /// Where to write the private key (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Verify an evidence directory or bundle offline.
    ///
    /// Checks canonical form, every hash and signature, sequence gaps, chain links and the
    /// checkpoint, and reports integrity and completeness separately. Exit codes: 0 valid,
    /// 1 tampered or invalid, 2 incomplete (tail missing against the checkpoint), 3 signed
    /// by a key not given with --key, 64 usage error, 66 unreadable input.
    Verify {
        /// An evidence directory or a bundle file.
        path: PathBuf,
        /// A checkpoint kept elsewhere (default: the log's own, if any).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// A trusted public key; repeat for rotated keys (default: the keys shipped with the log).
        #[arg(long = "key", value_name = "PUB")]
        keys: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a log: a self-contained bundle that `lumenflow verify` checks offline, the
    /// records as JSONL, or a CSV table.
    Export {
        /// The evidence directory.
        dir: PathBuf,
        /// Where to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// What to write.
        #[arg(long, value_enum, default_value = "bundle")]
        format: ExportFormat,
        /// Sign a checkpoint of the last record into the bundle with this private key, so
        /// that the bundle proves its own completeness.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Show records, optionally filtered.
    Log {
        /// An evidence directory or a bundle file.
        #[arg(required_unless_present = "server")]
        path: Option<PathBuf>,
        /// Ask the daemon on this socket (`lumenflow serve`) instead of deciding in-process:
        /// no policy, key or evidence directory is read here. See spec/serve.md.
        #[arg(long, value_name = "SOCKET")]
        #[arg(conflicts_with_all = ["path", "kind", "since"])]
        server: Option<PathBuf>,

        /// Only records of this kind (decision, outcome, recovery, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Only records of this session.
        #[arg(long)]
        session: Option<String>,
        /// Only records since this time: RFC 3339, or an age such as 30m, 2h, 7d.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// One JSON record per line.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint of the log's head and write it (keep a copy elsewhere).
    Checkpoint {
        /// The evidence directory.
        dir: PathBuf,
        /// The private key that signs it.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Also write the checkpoint to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Repair a damaged evidence directory, on the record.
    ///
    /// A writer refuses to append to a log that lost what it had (a shorter or missing
    /// segment, a head behind the checkpoint, a head not signed by a trusted key). This
    /// moves everything from the first record that does not check out to DIR/quarantine/
    /// (kept, never deleted), moves aside a checkpoint the log no longer reaches, and
    /// appends a signed `recovery` record (reason `repair`) saying what was moved and why.
    Repair {
        /// The evidence directory.
        dir: PathBuf,
        /// The private key that signs the recovery record (the governor's).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Public keys of other writers whose records are trusted (repeatable).
        #[arg(long = "trust", value_name = "FILE")]
        trust: Vec<PathBuf>,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
    },
    /// Approval requests (opened by require_approval decisions).
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
    /// Approve an approval request (as an approver the request's rule allows).
    Approve {
        /// The evidence directory.
        dir: PathBuf,
        /// The request id (the id of the decision that opened it).
        request: String,
        #[command(flatten)]
        vote: VoteArgs,
    },
    /// Reject an approval request (one reject closes it).
    Reject {
        /// The evidence directory.
        dir: PathBuf,
        /// The request id.
        request: String,
        #[command(flatten)]
        vote: VoteArgs,
    },
    /// Override a deny (break-glass): allowed only to actors the deciding rules name in
    /// `overridable_by`, with a reason; recorded and flagged in every view.
    Override {
        /// The evidence directory.
        dir: PathBuf,
        /// The id of the denied decision.
        decision: String,
        /// Who overrides (default: the registered identity of --sign-key).
        #[arg(long = "as", value_name = "ID")]
        who: Option<String>,
        /// Not accepted: roles come from the approver registry.
        #[arg(long = "role", value_name = "ROLE", hide = true)]
        roles: Vec<String>,
        /// The overrider's own private key, registered in the approver registry (required).
        #[arg(long, value_name = "FILE")]
        sign_key: Option<PathBuf>,
        /// Why (required).
        #[arg(long)]
        reason: String,
        /// The private key that signs the record.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The policy files (to check who may override), most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
    },
    /// Show budget spend per account.
    Budgets {
        /// The evidence directory.
        dir: PathBuf,
        /// The policy files that define the budgets.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Re-decide every recorded action under policies, with no side effects, and report
    /// what would change. Exits 0 if nothing changes, 2 if something would, 1 on error.
    Replay {
        /// An evidence directory or a bundle file.
        path: PathBuf,
        /// The policy files to replay with, most general first.
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
        /// List unchanged decisions too.
        #[arg(long)]
        all: bool,
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
    /// Run an adversarial corpus against policies, each judged alone: every case's
    /// effect must be the one expected for that policy (known gaps aside).
    ///
    /// Prints failures and gaps, then a table per class of dangerous actions allowed and
    /// benign ones refused; exits 1 on any failure or stale gap.
    Corpus {
        /// A policy file; repeat to judge several (each alone, not as layers).
        #[arg(long = "policy", short = 'p', value_name = "FILE", required = true)]
        policies: Vec<PathBuf>,
        /// Corpus files, or directories of them (spec/policy-tests.md, Corpus files).
        #[arg(value_name = "CORPUS", required = true)]
        paths: Vec<PathBuf>,
        /// Print the report as JSON (tallies per policy and class, findings).
        #[arg(long)]
        json: bool,
        /// List known gaps too.
        #[arg(long)]
        gaps: bool,
    },
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// List approval requests (pending ones unless --all).
    List {
        /// The evidence directory.
        #[arg(required_unless_present = "server")]
        dir: Option<PathBuf>,
        /// Ask the daemon on this socket (`lumenflow serve`) instead of deciding in-process:
        /// no policy, key or evidence directory is read here. See spec/serve.md.
        #[arg(long, value_name = "SOCKET")]
        #[arg(conflicts_with = "dir")]
        server: Option<PathBuf>,

        /// Include approved, rejected, expired and used requests.
        #[arg(long)]
        all: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct VoteArgs {
    /// Who votes (default: the registered identity of --sign-key); must be the identity
    /// the registry binds to that key.
    #[arg(long = "as", value_name = "ID")]
    who: Option<String>,
    /// Not accepted: roles come from the approver registry.
    #[arg(long = "role", value_name = "ROLE", hide = true)]
    roles: Vec<String>,
    /// Why.
    #[arg(long, default_value = "")]
    reason: String,
    /// The private key that signs the record.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The approver's own private key, registered in the approver registry: signs the
    /// vote itself (required).
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
}

/// Agent clients whose hook protocol `--hook` / `hook --client` speaks (spec/hooks.md).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Hook {
    /// Claude Code: PreToolUse, PostToolUse, PostToolUseFailure, PermissionDenied.
    ClaudeCode,
    /// OpenAI Codex CLI: PreToolUse, PostToolUse (apply_patch read into the files it writes).
    Codex,
    /// Cursor: beforeShellExecution, beforeMCPExecution, beforeReadFile, preToolUse and the after-events.
    Cursor,
    /// Gemini CLI: BeforeTool, AfterTool.
    Gemini,
    /// GitHub Copilot CLI: preToolUse, postToolUse.
    Copilot,
}

impl Hook {
    fn client(self) -> lumenflow_core::hooks::Client {
        use lumenflow_core::hooks::Client;
        match self {
            Hook::ClaudeCode => Client::ClaudeCode,
            Hook::Codex => Client::Codex,
            Hook::Cursor => Client::Cursor,
            Hook::Gemini => Client::Gemini,
            Hook::Copilot => Client::Copilot,
        }
    }
}

/// The git hooks `git-hook` runs as.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum GitHookName {
    /// Before a commit is made: decides the staged change.
    PreCommit,
    /// Before a push: decides each ref it updates.
    PrePush,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum StatusArg {
    Success,
    Failure,
    Denied,
    Unknown,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ExportFormat {
    Bundle,
    Jsonl,
    Csv,
}

mod corpus;
mod evidence_cmd;
mod git_cmd;
mod hook_cmd;
mod mcp_cmd;
mod remote_cmd;
mod serve_cmd;
mod state_cmd;

fn main() -> ExitCode {
    // Panics inside a decision are contained by the core (the decision fails closed); say
    // so in one line instead of printing a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("lumenflow: internal error{at} (a decision that hits it fails closed)");
    }));
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
    let _ = REGISTRY.set(cli.registry);
    match cli.command {
        Command::Check { policies, json } => Ok(check(&policies, json)),
        Command::Decide {
            policies,
            server,
            action,
            hook,
            context,
            json,
            evidence,
            key,
        } => {
            if let Some(h) = hook {
                let opts = hook_cmd::HookOptions {
                    policies,
                    context,
                    evidence,
                    key,
                    server,
                    ..Default::default()
                };
                return Ok(hook_cmd::run(h.client(), &opts));
            }
            if let Some(socket) = server {
                let action = read_action(action.as_deref().unwrap_or("-"))?;
                let context = context.map(|p| read_context(&p)).transpose()?;
                return remote_cmd::decide(&socket, &action, context.as_ref(), json);
            }
            let set = load_set(&policies)?;
            let action = read_action(action.as_deref().unwrap_or("-"))?;
            let context = match context {
                Some(p) => read_context(&p)?,
                None => Context::new(),
            };
            let (d, recorded) = match (evidence, key) {
                (Some(dir), Some(key)) => {
                    let g = evidence_cmd::governor(&dir, &key, set, context.clone(), false)?;
                    let gov = g.decide(&action).map_err(|e| {
                        format!(
                            "the decision could not be recorded, so it must not be acted on: {e}"
                        )
                    })?;
                    (gov.decision, Some((gov.id, gov.hash)))
                }
                _ => (set.decide(&action, &context), None),
            };
            if json {
                let mut v = serde_json::to_value(&d).map_err(|e| e.to_string())?;
                if let Some((id, hash)) = &recorded {
                    v["evidence"] = serde_json::json!({"id": id, "hash": hash});
                }
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
                );
            } else {
                print_decision(&d);
                if let Some((id, _)) = &recorded {
                    outln!("recorded decision {id}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Record {
            dir,
            key,
            server,
            decision,
            status,
            output,
            error,
            duration_ms,
            cost,
            tokens,
            policies,
            hook,
        } => match (hook, server, dir, key) {
            (Some(h), server, dir, key) => {
                let opts = hook_cmd::HookOptions {
                    policies,
                    context: None,
                    evidence: dir,
                    key,
                    server,
                    ..Default::default()
                };
                Ok(hook_cmd::run(h.client(), &opts))
            }
            (None, Some(socket), _, _) => remote_cmd::record(
                &socket,
                decision,
                status,
                output,
                error,
                duration_ms,
                (cost, tokens),
            ),
            (None, None, Some(dir), Some(key)) => evidence_cmd::record(
                &dir,
                &key,
                decision,
                status,
                output,
                error,
                duration_ms,
                (cost, tokens, &policies),
            ),
            (None, None, _, _) => {
                Err("record needs the evidence directory and --key, or --server".into())
            }
        },
        Command::Hook {
            client,
            policies,
            context,
            evidence,
            key,
            project_dir,
            server,
            wait,
            calls,
            timeout_ms,
        } => {
            let opts = hook_cmd::HookOptions {
                policies,
                context,
                evidence,
                key,
                project_dir,
                server,
                wait: wait.map(std::time::Duration::from_secs),
                calls,
                timeout: Some(std::time::Duration::from_millis(timeout_ms)),
            };
            Ok(hook_cmd::run(client.client(), &opts))
        }
        Command::Serve { config } => serve_cmd::serve(&config),
        Command::HashSecret => serve_cmd::hash_secret(),
        Command::GitHook {
            hook,
            args,
            policies,
            context,
            evidence,
            key,
        } => Ok(git_cmd::git_hook(
            matches!(hook, GitHookName::PrePush),
            &args,
            &git_cmd::GitOptions {
                policies,
                context,
                evidence,
                key,
            },
        )),
        Command::InstallGitHooks {
            repo,
            policies,
            evidence,
            key,
            context,
            force,
        } => git_cmd::install(
            repo.as_deref(),
            &git_cmd::GitOptions {
                policies,
                context,
                evidence,
                key,
            },
            force,
        ),
        Command::Mcp {
            policies,
            evidence,
            key,
            server_name,
            context,
            project_dir,
            hide_denied,
            profile,
            session,
            durability,
            url,
            listen,
            command,
        } => mcp_cmd::run(mcp_cmd::McpOptions {
            policies,
            evidence,
            key,
            server_name,
            context,
            project_dir,
            hide_denied,
            profile,
            session,
            durability,
            url,
            listen,
            command,
        }),
        Command::Keygen { out } => evidence_cmd::keygen(&out),
        Command::Verify {
            path,
            checkpoint,
            keys,
            json,
        } => Ok(evidence_cmd::verify(
            &path,
            checkpoint.as_deref(),
            &keys,
            json,
        )),
        Command::Export {
            dir,
            out,
            format,
            key,
        } => evidence_cmd::export(&dir, &out, format, key.as_deref()),
        Command::Log {
            path,
            server,
            kind,
            session,
            since,
            json,
        } => match (server, path) {
            (Some(socket), _) => remote_cmd::log(&socket, session, json),
            (None, Some(path)) => evidence_cmd::log(&path, kind, session, since, json),
            (None, None) => Err("log needs an evidence directory or bundle, or --server".into()),
        },
        Command::Repair {
            dir,
            key,
            trust,
            reason,
        } => evidence_cmd::repair(&dir, &key, &trust, &reason),
        Command::Checkpoint { dir, key, out } => {
            evidence_cmd::checkpoint(&dir, &key, out.as_deref())
        }
        Command::Approvals {
            command:
                ApprovalsCommand::List {
                    dir,
                    server,
                    all,
                    json,
                },
        } => match (server, dir) {
            (Some(socket), _) => remote_cmd::approvals(&socket, all, json),
            (None, Some(dir)) => state_cmd::list(&dir, all, json),
            (None, None) => Err("approvals list needs an evidence directory, or --server".into()),
        },
        Command::Approve { dir, request, vote } => state_cmd::vote(
            &dir,
            &request,
            vote.who.as_deref(),
            vote.roles,
            &vote.reason,
            &vote.key,
            vote.sign_key.as_deref(),
            Choice::Approve,
        ),
        Command::Reject { dir, request, vote } => state_cmd::vote(
            &dir,
            &request,
            vote.who.as_deref(),
            vote.roles,
            &vote.reason,
            &vote.key,
            vote.sign_key.as_deref(),
            Choice::Reject,
        ),
        Command::Override {
            dir,
            decision,
            who,
            roles,
            reason,
            key,
            sign_key,
            policies,
        } => state_cmd::override_deny(
            &dir,
            &decision,
            who.as_deref(),
            roles,
            &reason,
            &key,
            sign_key.as_deref(),
            &policies,
        ),
        Command::Budgets {
            dir,
            policies,
            json,
        } => state_cmd::budgets(&dir, &policies, json),
        Command::Replay {
            path,
            policies,
            json,
            all,
        } => state_cmd::replay(&path, &policies, json, all),
        Command::Corpus {
            policies,
            paths,
            json,
            gaps,
        } => {
            let mut loaded = Vec::new();
            for p in &policies {
                loaded.push(Policy::from_file(p).map_err(|e| e.to_string())?);
            }
            let cases = corpus::load(&paths)?;
            let count = loaded.len();
            let report = corpus::run(&cases, loaded);
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                for f in &report.findings {
                    if f.kind != "GAP" || gaps {
                        outln!(
                            "{:<9} {} [{}] {}: {} {}",
                            f.kind,
                            f.at,
                            f.class,
                            f.policy,
                            f.name,
                            f.message
                        );
                    }
                }
                outln!("{}", corpus::markdown(&report));
                let failed = report.findings.iter().filter(|f| f.kind != "GAP").count();
                let gapped = report.findings.len() - failed;
                outln!(
                    "{} cases x {} policies: {failed} failed, {gapped} known gaps",
                    cases.len(),
                    count
                );
                for (p, (median, p99)) in &report.eval_ns {
                    let slow = &report.interpreted[p];
                    outln!(
                        "{p}: decide median {median} ns, p99 {p99} ns; rules in the CEL interpreter: {}",
                        if slow.is_empty() { "none".to_owned() } else { slow.join(", ") }
                    );
                }
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
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

pub(crate) fn load_set(paths: &[PathBuf]) -> Result<PolicySet, String> {
    PolicySet::from_files(paths).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.join(
            "
",
        )
    })
}

pub(crate) fn read_text(path: &str) -> Result<String, String> {
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

pub(crate) fn read_context(path: &Path) -> Result<Context, String> {
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
