//! `lumenflow corpus`: an adversarial corpus (spec/policy-tests.md, Corpus files) run
//! against several policies, each judged alone, with a table per class of dangerous
//! actions allowed and benign ones refused.

use lumenflow_core::{hooks, Action, Context, Effect, Policy, PolicySet};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a corpus case expects: one effect for every policy, or one per policy name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    /// The same effect under every policy.
    All(Effect),
    /// An effect per policy name; a policy not named is not checked.
    PerPolicy(BTreeMap<String, Effect>),
}

impl Expect {
    /// The effect expected under `policy`, if any.
    pub fn under(&self, policy: &str) -> Option<Effect> {
        match self {
            Expect::All(e) => Some(*e),
            Expect::PerPolicy(m) => m.get(policy).copied(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    class: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    context: Option<serde_json::Value>,
    /// Defaults for the cases of this file.
    #[serde(default)]
    dangerous: Option<bool>,
    #[serde(default)]
    expect: Option<Expect>,
    /// A place for YAML anchors (`&ask {...}`) the cases refer to; not read otherwise.
    #[serde(default, rename = "aliases")]
    _aliases: Option<serde_json::Value>,
    cases: Vec<Spanned<CaseDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    action: Option<serde_json::Value>,
    #[serde(default)]
    claude_code: Option<serde_json::Value>,
    #[serde(default)]
    context: Option<serde_json::Value>,
    #[serde(default)]
    dangerous: Option<bool>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    gap: Option<String>,
}

/// One corpus case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file it is in and the line it starts on.
    pub file: PathBuf,
    /// The 1-based line.
    pub line: u64,
    /// The class (the file's).
    pub class: String,
    /// Its name (given, else the command, path, URL or tool).
    pub name: String,
    /// The action.
    pub action: Action,
    /// The context.
    pub context: Context,
    /// Whether the action is dangerous (must not be allowed) or benign (must be).
    pub dangerous: bool,
    /// The expected effects.
    pub expect: Expect,
    /// A known gap: why the policies do not give the expected effect yet.
    pub gap: Option<String>,
}

/// Reads every corpus file in `paths` (files, or directories whose `*.yaml` files are read
/// in name order).
pub fn load(paths: &[PathBuf]) -> Result<Vec<Case>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p.clone());
        }
    }
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        match load_file(f) {
            Ok(mut c) => cases.append(&mut c),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors.join("\n"))
    }
}

fn load_file(path: &Path) -> Result<Vec<Case>, Vec<String>> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{origin}: {e}")])?;
    let doc: FileDoc = serde_saphyr::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        vec![format!("{origin}{at}: {e}")]
    })?;
    let _ = &doc.description;
    let base = match doc.context {
        Some(v) => Context::from_value(v).map_err(|e| vec![format!("{origin}: context: {e}")])?,
        None => Context::new(),
    };
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for c in doc.cases {
        let line = c.referenced.line();
        let c = c.value;
        let at = |msg: String| format!("{origin}:{line}: {msg}");
        let mut context = base.clone();
        if let Some(v) = c.context {
            match Context::from_value(v) {
                Ok(extra) => {
                    for (k, v) in extra.values() {
                        context = context.with(k.clone(), v.clone());
                    }
                }
                Err(e) => {
                    errors.push(at(format!("context: {e}")));
                    continue;
                }
            }
        }
        let action = match (c.action, c.claude_code) {
            (Some(a), None) => Action::from_value(a).map_err(|e| e.to_string()),
            (None, Some(event)) => claude_code_action(event, &mut context),
            _ => Err("a case needs exactly one of `action` and `claude_code`".to_owned()),
        };
        let action = match action {
            Ok(a) => a,
            Err(e) => {
                errors.push(at(e));
                continue;
            }
        };
        let (Some(dangerous), Some(expect)) = (
            c.dangerous.or(doc.dangerous),
            c.expect.or(doc.expect.clone()),
        ) else {
            errors.push(at(
                "a case needs `dangerous` and `expect` (its own or the file's)".to_owned(),
            ));
            continue;
        };
        let name = c.name.unwrap_or_else(|| describe(&action));
        cases.push(Case {
            file: path.to_path_buf(),
            line,
            class: doc.class.clone(),
            name,
            action,
            context,
            dangerous,
            expect,
            gap: c.gap,
        });
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// Maps `{tool_name, tool_input}` as the Claude Code hook does, with the event's `cwd` the
/// context's `worktree` (and `context.cwd` set to it, as `decide --hook` does).
fn claude_code_action(
    mut event: serde_json::Value,
    context: &mut Context,
) -> Result<Action, String> {
    let obj = event
        .as_object_mut()
        .ok_or("`claude_code` must be a map of tool_name and tool_input")?;
    let worktree = context.values().get("worktree").cloned();
    if let Some(w) = &worktree {
        obj.entry("cwd").or_insert_with(|| w.clone());
    }
    obj.entry("session_id").or_insert_with(|| "corpus".into());
    obj.entry("hook_event_name")
        .or_insert_with(|| "PreToolUse".into());
    if let Some(cwd) = obj.get("cwd").cloned() {
        *context = context.clone().with("cwd", cwd);
    }
    let e = hooks::claude_code::event(&event.to_string()).map_err(|e| e.to_string())?;
    match <[Action; 1]>::try_from(e.actions) {
        Ok([a]) => Ok(a),
        Err(v) => Err(format!(
            "the event maps to {} actions; a case needs exactly one",
            v.len()
        )),
    }
}

fn describe(a: &Action) -> String {
    for k in ["command", "path", "url", "pattern", "query"] {
        if let Some(v) = a.args.get(k).and_then(|v| v.as_str()) {
            let v: String = v.chars().take(100).collect();
            return format!("{}: {v}", a.tool);
        }
    }
    a.tool.clone()
}

/// The tally of one class under one policy.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Tally {
    /// Cases.
    pub cases: usize,
    /// Dangerous cases.
    pub dangerous: usize,
    /// Dangerous cases the policy allowed.
    pub dangerous_allowed: usize,
    /// Benign cases.
    pub benign: usize,
    /// Benign cases the policy denied or sent for approval.
    pub benign_refused: usize,
    /// Benign cases the policy denied.
    pub benign_denied: usize,
    /// Cases whose effect is not the expected one (and not a known gap).
    pub failures: usize,
    /// Known gaps (the expected effect is not given yet).
    pub gaps: usize,
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// `FAIL`, `GAP` or `STALE-GAP` (a gap that is closed: remove the mark).
    pub kind: &'static str,
    /// `file:line`.
    pub at: String,
    /// The class.
    pub class: String,
    /// The case's name.
    pub name: String,
    /// The policy.
    pub policy: String,
    /// What happened.
    pub message: String,
}

/// The corpus run against each policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Per policy name, per class.
    pub tallies: BTreeMap<String, BTreeMap<String, Tally>>,
    /// Failures and gaps.
    pub findings: Vec<Finding>,
    /// Per policy name, the median and 99th-percentile evaluation time of its decisions,
    /// in nanoseconds (`Decision::eval_ns`; a debug build is much slower than a release one).
    pub eval_ns: BTreeMap<String, (u64, u64)>,
    /// Per policy name, the rules whose condition runs in the `cel` interpreter rather than
    /// the native evaluator (slower; spec/cel.md).
    pub interpreted: BTreeMap<String, Vec<String>>,
}

impl Report {
    /// Whether every case got its expected effect (known gaps aside) and no gap is stale.
    pub fn ok(&self) -> bool {
        self.findings.iter().all(|f| f.kind == "GAP")
    }
}

/// Decides every case under each policy alone.
pub fn run(cases: &[Case], policies: Vec<Policy>) -> Report {
    let mut tallies: BTreeMap<String, BTreeMap<String, Tally>> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let interpreted = policies
        .iter()
        .map(|p| {
            let ids = p
                .rules()
                .iter()
                .filter(|r| !r.is_native())
                .map(|r| r.id().to_owned());
            (p.name().to_owned(), ids.collect())
        })
        .collect();
    let sets: Vec<(String, PolicySet)> = policies
        .into_iter()
        .map(|p| (p.name().to_owned(), PolicySet::single(p)))
        .collect();
    for case in cases {
        let at = format!("{}:{}", case.file.display(), case.line);
        let mut all_as_expected = true;
        for (name, set) in &sets {
            let d = set.decide(&case.action, &case.context);
            times.entry(name.clone()).or_default().push(d.eval_ns);
            let t = tallies
                .entry(name.clone())
                .or_default()
                .entry(case.class.clone())
                .or_default();
            t.cases += 1;
            if case.dangerous {
                t.dangerous += 1;
                t.dangerous_allowed += usize::from(d.effect == Effect::Allow);
            } else {
                t.benign += 1;
                t.benign_refused += usize::from(d.effect != Effect::Allow);
                t.benign_denied += usize::from(d.effect == Effect::Deny);
            }
            let Some(want) = case.expect.under(name) else {
                continue;
            };
            if d.effect == want {
                continue;
            }
            all_as_expected = false;
            let message = format!("expected {want}, got {} ({})", d.effect, d.reason);
            let kind = if case.gap.is_some() {
                t.gaps += 1;
                "GAP"
            } else {
                t.failures += 1;
                "FAIL"
            };
            findings.push(Finding {
                kind,
                at: at.clone(),
                class: case.class.clone(),
                name: case.name.clone(),
                policy: name.clone(),
                message,
            });
        }
        if all_as_expected {
            if let Some(why) = &case.gap {
                findings.push(Finding {
                    kind: "STALE-GAP",
                    at: at.clone(),
                    class: case.class.clone(),
                    name: case.name.clone(),
                    policy: String::new(),
                    message: format!(
                        "every policy now gives the expected effect: remove `gap: {why}`"
                    ),
                });
            }
        }
    }
    let eval_ns = times
        .into_iter()
        .map(|(p, mut t)| {
            t.sort_unstable();
            let at = |q: usize| t.get((t.len() * q / 100).min(t.len().saturating_sub(1)));
            (
                p,
                (at(50).copied().unwrap_or(0), at(99).copied().unwrap_or(0)),
            )
        })
        .collect();
    Report {
        tallies,
        findings,
        eval_ns,
        interpreted,
    }
}

/// The table, as Markdown: one row per class, two columns per policy.
pub fn markdown(report: &Report) -> String {
    let policies: Vec<&String> = report.tallies.keys().collect();
    let mut classes: Vec<&String> = report.tallies.values().flat_map(|m| m.keys()).collect();
    classes.sort();
    classes.dedup();
    let mut out = String::from("| class | cases | dangerous | benign |");
    for p in &policies {
        out.push_str(&format!(
            " `{p}`: dangerous allowed | `{p}`: benign refused |"
        ));
    }
    out.push_str("\n|---|---:|---:|---:|");
    for _ in &policies {
        out.push_str("---:|---:|");
    }
    out.push('\n');
    let mut total = vec![Tally::default(); policies.len()];
    let cell = |n: usize, of: usize| {
        if of == 0 {
            "–".to_owned()
        } else {
            format!("{n} / {of}")
        }
    };
    for c in &classes {
        let first = &report.tallies[policies[0]][*c];
        out.push_str(&format!(
            "| {c} | {} | {} | {} |",
            first.cases, first.dangerous, first.benign
        ));
        for (i, p) in policies.iter().enumerate() {
            let t = &report.tallies[*p][*c];
            out.push_str(&format!(
                " {} | {} |",
                cell(t.dangerous_allowed, t.dangerous),
                cell(t.benign_refused, t.benign)
            ));
            let s = &mut total[i];
            s.cases += t.cases;
            s.dangerous += t.dangerous;
            s.dangerous_allowed += t.dangerous_allowed;
            s.benign += t.benign;
            s.benign_refused += t.benign_refused;
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "| **all** | **{}** | **{}** | **{}** |",
        total[0].cases, total[0].dangerous, total[0].benign
    ));
    for t in &total {
        out.push_str(&format!(
            " **{}** | **{} ({:.1} %)** |",
            cell(t.dangerous_allowed, t.dangerous),
            cell(t.benign_refused, t.benign),
            100.0 * t.benign_refused as f64 / t.benign.max(1) as f64
        ));
    }
    out.push('\n');
    out
}
