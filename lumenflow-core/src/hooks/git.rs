//! The actions of git's own hooks — the layer every client shares: a commit
//! (`pre-commit`) and each ref a push updates (`pre-push`), decided against the same
//! policy as any tool call. The CLI's `lumenflow git-hook` gathers the facts from the
//! repository; this module only shapes them.
//!
//! Action: `tool: "git"`, `args`:
//!
//! | field | commit | push |
//! |---|---|---|
//! | `op` | `"commit"` | `"push"` |
//! | `branch` | the branch being committed to (`""` when HEAD is detached) | the remote branch updated (`refs/heads/` stripped; a tag keeps `refs/tags/...`) |
//! | `remote`, `url` | — | the remote's name and URL as git gives them |
//! | `force` | `false` | whether the update is not a fast-forward (the remote's commit is not an ancestor of the pushed one, or is unknown here) |
//! | `delete` | `false` | whether the push deletes the remote ref |
//! | `local_ref`, `local_sha`, `remote_ref`, `remote_sha` | — | the line git gives the hook |
//! | `files` | the staged paths | the paths the pushed commits change |
//! | `diff` | the staged diff (`git diff --cached`), at most [`MAX_DIFF`] bytes | the pushed commits' diff, likewise |
//! | `added` | the added lines of `diff` (without the `+`), for secret checks that ignore removals | likewise |
//! | `diff_truncated` | whether `diff` was cut at [`MAX_DIFF`] | likewise |
//! | `repo` | the repository's top-level directory | likewise |

use super::HookError;
use crate::action::{Action, Actor};
use serde_json::{json, Map, Value};

/// The most bytes of diff an action carries (the action's own limit is 1 MiB of text).
pub const MAX_DIFF: usize = 256 * 1024;

/// The all-zero object id git uses for "no commit".
pub fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// A diff cut to [`MAX_DIFF`] bytes (at a character boundary), and whether it was cut.
pub fn bound_diff(diff: &str) -> (String, bool) {
    if diff.len() <= MAX_DIFF {
        return (diff.to_owned(), false);
    }
    let mut end = MAX_DIFF;
    while !diff.is_char_boundary(end) {
        end -= 1;
    }
    (diff[..end].to_owned(), true)
}

/// The added lines of a unified diff, without their `+` (file headers left out).
pub fn added_lines(diff: &str) -> String {
    let mut out = String::new();
    for l in diff.lines() {
        if let Some(a) = l.strip_prefix('+') {
            if !l.starts_with("+++ ") {
                out.push_str(a);
                out.push('\n');
            }
        }
    }
    out
}

/// What a commit changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Commit {
    /// The repository's top-level directory.
    pub repo: String,
    /// The branch (empty when detached).
    pub branch: String,
    /// The staged paths.
    pub files: Vec<String>,
    /// The staged diff.
    pub diff: String,
}

/// One ref a push updates (a line of `pre-push`'s standard input, with what it changes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefUpdate {
    /// `<local ref>`.
    pub local_ref: String,
    /// `<local sha>` (zeros: a delete).
    pub local_sha: String,
    /// `<remote ref>`.
    pub remote_ref: String,
    /// `<remote sha>` (zeros: a new ref).
    pub remote_sha: String,
    /// Whether it is not a fast-forward.
    pub force: bool,
    /// The paths the pushed commits change.
    pub files: Vec<String>,
    /// The pushed commits' diff.
    pub diff: String,
}

/// Reads `pre-push`'s standard input: one `<local ref> <local sha> <remote ref> <remote sha>` per line.
pub fn parse_pre_push(stdin: &str) -> Result<Vec<RefUpdate>, HookError> {
    let mut out = Vec::new();
    for (i, line) in stdin.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let sha = |s: &str| s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if w.len() != 4 || !sha(w[1]) || !sha(w[3]) {
            return Err(HookError::field(
                "git",
                &format!("pre-push input line {}", i + 1),
                format!(
                    "expected `<local ref> <local sha> <remote ref> <remote sha>`, got {line:?}"
                ),
            ));
        }
        out.push(RefUpdate {
            local_ref: w[0].to_owned(),
            local_sha: w[1].to_owned(),
            remote_ref: w[2].to_owned(),
            remote_sha: w[3].to_owned(),
            ..RefUpdate::default()
        });
    }
    Ok(out)
}

fn git_action(mut args: Map<String, Value>, diff: &str, actor: &str, session: &str) -> Action {
    let (diff, truncated) = bound_diff(diff);
    args.insert("added".into(), json!(added_lines(&diff)));
    args.insert("diff".into(), json!(diff));
    args.insert("diff_truncated".into(), json!(truncated));
    let mut metadata = Map::new();
    metadata.insert("hook".into(), json!("git"));
    Action {
        tool: "git".into(),
        args,
        actor: Actor::agent(actor),
        session: session.to_owned(),
        run: String::new(),
        metadata,
        cost: None,
        tokens: None,
    }
}

/// The action of a commit, proposed by `actor` in `session`.
pub fn commit_action(c: &Commit, actor: &str, session: &str) -> Action {
    let mut args = Map::new();
    args.insert("op".into(), json!("commit"));
    args.insert("repo".into(), json!(c.repo));
    args.insert("branch".into(), json!(c.branch));
    args.insert("force".into(), json!(false));
    args.insert("delete".into(), json!(false));
    args.insert("files".into(), json!(c.files));
    git_action(args, &c.diff, actor, session)
}

/// The branch a remote ref names: `refs/heads/x` → `x`; other refs as given.
pub fn branch_of(remote_ref: &str) -> &str {
    remote_ref.strip_prefix("refs/heads/").unwrap_or(remote_ref)
}

/// The action of one ref update of a push to `remote` (`url`) from `repo`.
pub fn push_action(
    repo: &str,
    remote: &str,
    url: &str,
    u: &RefUpdate,
    actor: &str,
    session: &str,
) -> Action {
    let mut args = Map::new();
    args.insert("op".into(), json!("push"));
    args.insert("repo".into(), json!(repo));
    args.insert("remote".into(), json!(remote));
    args.insert("url".into(), json!(url));
    args.insert("branch".into(), json!(branch_of(&u.remote_ref)));
    args.insert("force".into(), json!(u.force));
    args.insert("delete".into(), json!(is_zero(&u.local_sha)));
    args.insert("local_ref".into(), json!(u.local_ref));
    args.insert("local_sha".into(), json!(u.local_sha));
    args.insert("remote_ref".into(), json!(u.remote_ref));
    args.insert("remote_sha".into(), json!(u.remote_sha));
    args.insert("files".into(), json!(u.files));
    git_action(args, &u.diff, actor, session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let ups = parse_pre_push(&format!(
            "refs/heads/main {a} refs/heads/main {z}\n(delete) {z} refs/heads/old {a}\n"
        ))
        .unwrap();
        assert_eq!(ups.len(), 2);
        let act = push_action("/r", "origin", "git@x:r.git", &ups[1], "dev", "s");
        assert_eq!(
            (act.args["delete"].as_bool(), act.args["branch"].as_str()),
            (Some(true), Some("old"))
        );
        assert!(parse_pre_push("refs/heads/main abc refs/heads/main def").is_err());
        let c = Commit {
            repo: "/r".into(),
            branch: "main".into(),
            files: vec!["a.txt".into()],
            diff: "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+token=ghp_xxx\n".into(),
        };
        let act = commit_action(&c, "dev", "");
        assert_eq!(act.tool, "git");
        assert_eq!(act.args["added"], "token=ghp_xxx\n");
        let (d, cut) = bound_diff(&"é".repeat(MAX_DIFF));
        assert!(cut && d.len() <= MAX_DIFF);
    }
}
