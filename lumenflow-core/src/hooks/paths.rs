//! Where a file tool reaches: relative paths joined to the directory the tool runs in,
//! and the directory a glob pattern can read below.
//!
//! A glob search reads below its base directory *and* wherever its pattern leads:
//! `Glob {path: "/w", pattern: "../../etc/*"}` lists `/etc`, and an absolute pattern
//! ignores the base. [`glob_root`] returns the directory the search can reach, so that a
//! policy checking `path.within(action.args.path, context.worktree)` sees it.

/// `rel` joined to `base` (an absolute `rel` stands alone). Lexical: `..` is kept for
/// the policy's `path.*` functions to normalise.
pub fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') || base.is_empty() {
        rel.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}

fn is_glob(component: &str) -> bool {
    component.contains(['*', '?', '[', '{'])
}

/// The directory a search of `pattern` below `base` can read: `base` joined with the
/// pattern's literal leading components, `..` applied; an absolute pattern stands alone.
/// A `..` after `**` can climb any number of levels, so such a pattern reaches `/`.
/// Single-level wildcards followed by `..` return to their own level.
pub fn glob_root(base: &str, pattern: &str) -> String {
    let full = join(base, pattern);
    let absolute = full.starts_with('/');
    // Components of the literal prefix; wildcard levels are placeholders.
    let mut stack: Vec<Option<&str>> = Vec::new();
    let mut unbounded = false;
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if unbounded && stack.iter().any(Option::is_none) {
                    return "/".to_owned();
                }
                match stack.last() {
                    Some(Some("..")) | None => {
                        if !absolute {
                            // Climbing above a relative base: kept for the policy to see.
                            stack.push(Some(".."));
                        }
                    }
                    Some(_) => {
                        stack.pop();
                    }
                }
            }
            "**" => {
                unbounded = true;
                stack.push(None);
            }
            c if is_glob(c) => stack.push(None),
            c => stack.push(Some(c)),
        }
    }
    let literal: Vec<&str> = stack.iter().map_while(|c| *c).collect();
    let body = literal.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots() {
        assert_eq!(glob_root("/w", "**/*.rs"), "/w");
        assert_eq!(glob_root("/w", "src/**/*.rs"), "/w/src");
        assert_eq!(glob_root("/w", "../../etc/*"), "/etc");
        assert_eq!(glob_root("/w/a", "../*"), "/w");
        assert_eq!(glob_root("/w", "/etc/**"), "/etc");
        assert_eq!(glob_root("/w", "/home/*/.ssh/*"), "/home");
        assert_eq!(glob_root("/w", "src/*/../lib/*.rs"), "/w/src/lib");
        assert_eq!(glob_root("/w", "**/../../x"), "/");
        assert_eq!(glob_root("/w/src", "*/../../x/*"), "/w/x");
        assert_eq!(join("/w", "a/b"), "/w/a/b");
        assert_eq!(join("/w/", "/etc"), "/etc");
    }
}
