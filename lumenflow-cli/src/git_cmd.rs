//! `lumenflow git-hook pre-commit|pre-push` and `lumenflow install-git-hooks`: git's own
//! hooks, the layer every client shares. The facts (branch, staged files and diff, the
//! refs a push updates, whether an update is a fast-forward) come from `git` itself;
//! the action is shaped by `lumenflow_core::hooks::git`. See spec/hooks.md.

use crate::{load_set, read_context, read_text};
use lumenflow_core::hooks::git::{self, Commit, RefUpdate};
use lumenflow_core::{Action, Context, Effect, Outcome, Status};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// What the git hooks decide with.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Policy layers.
    pub policies: Vec<PathBuf>,
    /// A context file.
    pub context: Option<PathBuf>,
    /// The evidence directory.
    pub evidence: Option<PathBuf>,
    /// The signing key.
    pub key: Option<PathBuf>,
}

/// The line that marks a hook file as LumenFlow's.
const MARKER: &str = "# lumenflow-git-hook v1";

/// Runs `git args` in `dir` and returns its standard output; an error names the command.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `git args` succeeds (`Some(true)`), exits 1 (`Some(false)`), or fails otherwise (`None`).
fn git_test(dir: &Path, args: &[&str]) -> Option<bool> {
    let st = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?
        .status;
    match st.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

fn nul_list(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(['\0', '\n'])
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The staged change.
fn staged(repo: &Path) -> Result<Commit, String> {
    let branch = git(repo, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .map(|b| b.trim().to_owned())
        .unwrap_or_default();
    let files = nul_list(&git(repo, &["diff", "--cached", "--name-only", "-z"])?);
    let diff = git(
        repo,
        &[
            "diff",
            "--cached",
            "--no-color",
            "--no-ext-diff",
            "--binary",
        ],
    )?;
    Ok(Commit {
        repo: repo.display().to_string(),
        branch,
        files,
        diff,
    })
}

/// What one ref update of a push changes, and whether it is a fast-forward.
fn fill_update(repo: &Path, u: &mut RefUpdate) -> Result<(), String> {
    if git::is_zero(&u.local_sha) {
        return Ok(()); // a delete: nothing is sent
    }
    let known_remote = !git::is_zero(&u.remote_sha)
        && git_test(
            repo,
            &["cat-file", "-e", &format!("{}^{{commit}}", u.remote_sha)],
        ) == Some(true);
    if !git::is_zero(&u.remote_sha) {
        // Not a fast-forward when the remote's commit is not an ancestor of the pushed one;
        // a remote commit this repository does not have cannot be shown to be one.
        u.force = !known_remote
            || git_test(
                repo,
                &["merge-base", "--is-ancestor", &u.remote_sha, &u.local_sha],
            ) != Some(true);
    }
    if known_remote {
        let range = format!("{}..{}", u.remote_sha, u.local_sha);
        u.files = nul_list(&git(
            repo,
            &["diff", "--name-only", "-z", &u.remote_sha, &u.local_sha],
        )?);
        u.diff = git(
            repo,
            &[
                "log",
                "-p",
                "--no-color",
                "--no-ext-diff",
                "--format=commit %H",
                &range,
            ],
        )?;
    } else {
        // A new ref (or an unknown base): the commits no remote-tracking ref has.
        u.files = nul_list(&git(
            repo,
            &[
                "log",
                "--name-only",
                "--format=",
                &u.local_sha,
                "--not",
                "--remotes",
            ],
        )?);
        u.diff = git(
            repo,
            &[
                "log",
                "-p",
                "--no-color",
                "--no-ext-diff",
                "--format=commit %H",
                &u.local_sha,
                "--not",
                "--remotes",
            ],
        )?;
    }
    Ok(())
}

/// `git-hook pre-commit|pre-push`: 0 lets git go on, 1 stops it.
pub fn git_hook(pre_push: bool, args: &[String], opts: &GitOptions) -> ExitCode {
    let what = if pre_push { "push" } else { "commit" };
    match run_git_hook(pre_push, args, opts) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(why)) => {
            eprintln!("lumenflow: {what} blocked: {why}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("lumenflow: LumenFlow could not decide, so the {what} is blocked: {e}");
            ExitCode::from(1)
        }
    }
}

/// `Ok(None)`: allowed; `Ok(Some(why))`: blocked.
fn run_git_hook(
    pre_push: bool,
    args: &[String],
    opts: &GitOptions,
) -> Result<Option<String>, String> {
    let here = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let repo = PathBuf::from(git(&here, &["rev-parse", "--show-toplevel"])?.trim());
    let set = load_set(&opts.policies)?;
    let mut ctx = match &opts.context {
        Some(p) => read_context(p)?,
        None => Context::new(),
    };
    if !ctx.values().contains_key("worktree") {
        ctx = ctx.with("worktree", repo.display().to_string());
    }
    ctx = ctx.with("client", "git");
    let actor = git(&repo, &["config", "user.email"])
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let actor = format!("git:{actor}");
    let session = std::env::var("LUMENFLOW_SESSION").unwrap_or_default();
    let actions: Vec<Action> = if pre_push {
        let remote = args.first().cloned().unwrap_or_default();
        let url = args.get(1).cloned().unwrap_or_default();
        let mut ups = git::parse_pre_push(&read_text("-")?).map_err(|e| e.to_string())?;
        for u in &mut ups {
            fill_update(&repo, u)?;
        }
        ups.iter()
            .map(|u| {
                git::push_action(
                    &repo.display().to_string(),
                    &remote,
                    &url,
                    u,
                    &actor,
                    &session,
                )
            })
            .collect()
    } else {
        vec![git::commit_action(&staged(&repo)?, &actor, &session)]
    };
    let g = match (&opts.evidence, &opts.key) {
        (Some(dir), Some(key)) => Some(crate::evidence_cmd::governor(
            dir,
            key,
            set.clone(),
            ctx.clone(),
            false,
        )?),
        _ => None,
    };
    for a in &actions {
        let (d, id) = match &g {
            Some(g) => {
                let gd = g
                    .decide(a)
                    .map_err(|e| format!("evidence could not be written: {e}"))?;
                (gd.decision, Some(gd.id))
            }
            None => (set.decide(a, &ctx), None),
        };
        let target = a.args["branch"].as_str().unwrap_or_default();
        match d.effect {
            Effect::Allow => {
                if let (Some(g), Some(id)) = (&g, &id) {
                    // git goes on after the hook; LumenFlow does not see how it ends.
                    let mut o = Outcome::new(Status::Unknown);
                    o.error = Some(
                        "allowed by the git hook; git proceeds, and its result is not observed"
                            .into(),
                    );
                    g.record(id, o).map_err(|e| e.to_string())?;
                }
            }
            Effect::Deny => return Ok(Some(format!("{} ({target})", d.reason))),
            Effect::RequireApproval => {
                let how = match &id {
                    Some(id) => format!(
                        "; approval request {id} is open: once approved (lumenflow approve), run the same git command again"
                    ),
                    None => String::new(),
                };
                return Ok(Some(format!(
                    "approval required: {} ({target}){how}",
                    d.reason
                )));
            }
        }
    }
    Ok(None)
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

fn absolute(p: &Path) -> Result<PathBuf, String> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let here = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    Ok(here.join(p))
}

/// The hook script for `name`.
fn script(name: &str, exe: &Path, opts: &GitOptions) -> Result<String, String> {
    let mut flags = String::new();
    for p in &opts.policies {
        flags.push_str(&format!(" --policy {}", quote(&absolute(p)?)));
    }
    if let Some(c) = &opts.context {
        flags.push_str(&format!(" --context {}", quote(&absolute(c)?)));
    }
    if let (Some(e), Some(k)) = (&opts.evidence, &opts.key) {
        flags.push_str(&format!(
            " --evidence {} --key {}",
            quote(&absolute(e)?),
            quote(&absolute(k)?)
        ));
    }
    Ok(format!(
        "#!/bin/sh\n{MARKER} ({name}; written by `lumenflow install-git-hooks`, which rewrites it)\n\
         LUMENFLOW=\"${{LUMENFLOW_BIN:-{exe}}}\"\n\
         if ! command -v \"$LUMENFLOW\" >/dev/null 2>&1; then\n\
         \x20 echo \"lumenflow: $LUMENFLOW not found, so this git operation is blocked\" >&2\n\
         \x20 exit 1\n\
         fi\n\
         exec \"$LUMENFLOW\" git-hook {name}{flags} -- \"$@\"\n",
        exe = exe.display().to_string().replace(['"', '$', '`', '\\'], "")
    ))
}

/// `install-git-hooks`: writes pre-commit and pre-push into the repository's hooks directory.
pub fn install(repo: Option<&Path>, opts: &GitOptions, force: bool) -> Result<ExitCode, String> {
    let here = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let repo = absolute(repo.unwrap_or(&here))?;
    let top = PathBuf::from(git(&repo, &["rev-parse", "--show-toplevel"])?.trim());
    let hooks = PathBuf::from(git(&top, &["rev-parse", "--git-path", "hooks"])?.trim());
    let hooks = if hooks.is_absolute() {
        hooks
    } else {
        top.join(hooks)
    };
    std::fs::create_dir_all(&hooks).map_err(|e| format!("{}: {e}", hooks.display()))?;
    for p in &opts.policies {
        lumenflow_core::Policy::from_file(p).map_err(|e| e.to_string())?;
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the lumenflow binary: {e}"))?;
    let mut plan = Vec::new();
    for name in ["pre-commit", "pre-push"] {
        let path = hooks.join(name);
        let foreign = match std::fs::read_to_string(&path) {
            Ok(t) => !t.contains(MARKER),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(_) => path.exists(), // unreadable or not text: not ours
        };
        if foreign && !force {
            return Err(format!(
                "{} exists and was not written by LumenFlow: not replaced (use --force to replace it, keeping it as {name}.lumenflow-backup)",
                path.display()
            ));
        }
        plan.push((name, path, foreign));
    }
    for (name, path, foreign) in plan {
        if foreign {
            let backup = hooks.join(format!("{name}.lumenflow-backup"));
            if backup.exists() {
                return Err(format!("{} exists: move it away first", backup.display()));
            }
            std::fs::rename(&path, &backup).map_err(|e| format!("{}: {e}", path.display()))?;
            outln!("kept the previous {name} hook as {}", backup.display());
        }
        let text = script(name, &exe, opts)?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        outln!("installed {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
