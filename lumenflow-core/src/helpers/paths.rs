//! Paths: lexical normalisation, containment and glob matching.
//!
//! Everything here is lexical: the file system is never consulted (decisions do no I/O),
//! so symbolic links are not resolved. `..` is applied to the path as written, and a
//! relative path is taken relative to the base it is checked against.

use globset::{GlobBuilder, GlobMatcher};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Normalises a path lexically: collapses `//` and `.`, applies `..` (never above the
/// root of an absolute path; kept as leading `..` for a relative one), and drops a
/// trailing `/`. The empty path normalises to `.`.
pub fn normalize(path: &str) -> String {
    let mut parts = Stack::new();
    components(path, &mut parts);
    let joined = parts.join("/");
    match (path.starts_with('/'), joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Joins `path` onto `base` (unless `path` is absolute) and normalises the result.
pub fn resolve(base: &str, path: &str) -> String {
    if path.starts_with('/') || base.is_empty() {
        normalize(path)
    } else {
        normalize(&format!("{base}/{path}"))
    }
}

/// Whether `path` (relative paths taken from `base`) lies at or below `base`.
/// `a/../../etc` is not within `a`; `/repo2` is not within `/repo`.
pub fn within(path: &str, base: &str) -> bool {
    let mut base_parts = Stack::new();
    components(base, &mut base_parts);
    let absolute_base = base.starts_with('/');
    let mut full = Stack::new();
    if path.starts_with('/') {
        if !absolute_base {
            return false;
        }
    } else {
        full.extend(base_parts.iter().copied());
    }
    components(path, &mut full);
    if full.len() < base_parts.len() || full.iter().zip(&base_parts).any(|(a, b)| a != b) {
        return false;
    }
    // A relative base cannot contain a path that climbs above where it starts.
    absolute_base || full.first() != Some(&"..") || base_parts.first() == Some(&"..")
}

/// Path components, on the stack for all but very deep paths.
type Stack<'p> = smallvec::SmallVec<[&'p str; 24]>;

/// Pushes the lexically normalised components of `path` onto `stack`: `.` and empty
/// segments dropped, `..` popping (kept, at the front, for a relative path that climbs
/// above its start; dropped at the root of an absolute one).
fn components<'p>(path: &'p str, stack: &mut Stack<'p>) {
    let absolute = path.starts_with('/');
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match stack.last() {
                Some(&last) if last != ".." => {
                    stack.pop();
                }
                _ if absolute => {}
                _ => stack.push(".."),
            },
            p => stack.push(p),
        }
    }
}

/// Whether `path` is already in the form [`normalize`] gives (so it need not be copied).
pub fn is_normal(path: &str) -> bool {
    if path.is_empty() || path == "." {
        return path == ".";
    }
    if path == "/" {
        return true;
    }
    if path.ends_with('/') {
        return false;
    }
    let mut seen_named = path.starts_with('/');
    for (i, part) in path.split('/').enumerate() {
        match part {
            "" if i == 0 => {}
            "" | "." => return false,
            ".." if seen_named => return false,
            ".." => {}
            _ => seen_named = true,
        }
    }
    true
}

/// An error in a glob pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob pattern `{pattern}`: {message}")]
pub struct GlobError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub message: String,
}

const GLOB_CACHE_LIMIT: usize = 1024;

fn glob_cache() -> &'static RwLock<HashMap<String, Arc<GlobMatcher>>> {
    static CACHE: std::sync::OnceLock<RwLock<HashMap<String, Arc<GlobMatcher>>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Parses a glob with LumenFlow's options (see [`glob`]).
pub(crate) fn glob_of(pattern: &str) -> Result<globset::Glob, GlobError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map_err(|e| GlobError {
            pattern: pattern.to_owned(),
            message: e.kind().to_string(),
        })
}

/// Compiles a glob (`*` stays within one path segment, `**` crosses them, `?`, `[a-z]`,
/// `{a,b}`), caching compiled patterns.
pub fn glob(pattern: &str) -> Result<Arc<GlobMatcher>, GlobError> {
    if let Some(m) = glob_cache()
        .read()
        .ok()
        .and_then(|c| c.get(pattern).cloned())
    {
        return Ok(m);
    }
    let matcher = glob_of(pattern)?.compile_matcher();
    let matcher = Arc::new(matcher);
    if let Ok(mut c) = glob_cache().write() {
        if c.len() >= GLOB_CACHE_LIMIT {
            c.clear();
        }
        c.insert(pattern.to_owned(), matcher.clone());
    }
    Ok(matcher)
}

/// Whether the normalised `path` matches the glob `pattern`.
pub fn matches(path: &str, pattern: &str) -> Result<bool, GlobError> {
    Ok(glob(pattern)?.is_match(normalized(path).as_ref()))
}

/// `path` normalised, borrowed when it already is.
pub fn normalized(path: &str) -> std::borrow::Cow<'_, str> {
    if is_normal(path) {
        std::borrow::Cow::Borrowed(path)
    } else {
        std::borrow::Cow::Owned(normalize(path))
    }
}

/// The last component of the normalised path (`""` for `/`).
pub fn base_name(path: &str) -> String {
    let n = normalize(path);
    n.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The extension of the last component, without the dot (`""` if none).
pub fn extension(path: &str) -> String {
    let b = base_name(path);
    match b.rfind('.') {
        Some(0) | None => String::new(),
        Some(i) => b[i + 1..].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize("a/./b//c/"), "a/b/c");
        assert_eq!(normalize("a/../../etc"), "../etc");
        assert_eq!(normalize("/../etc/../x"), "/x");
        assert_eq!(normalize(""), ".");
        assert_eq!(normalize("a/.."), ".");
    }

    #[test]
    fn containment() {
        assert!(within("src/main.rs", "/repo"));
        assert!(within("/repo/src/../README", "/repo"));
        assert!(within("/repo", "/repo/"));
        assert!(!within("a/../../etc", "a"));
        assert!(!within("../x", "/repo"));
        assert!(!within("/repo2/x", "/repo"));
        assert!(!within("/etc/passwd", "/repo"));
        assert!(within("x", "."));
        assert!(!within("../x", "."));
        assert!(within("/anything", "/"));
    }

    #[test]
    fn globs() {
        assert!(matches("src/a/b.rs", "src/**/*.rs").unwrap());
        assert!(!matches("src/a/b.rs", "src/*.rs").unwrap());
        assert!(matches("./.env", ".env").unwrap());
        assert!(matches("x/.env.local", "**/.env*").unwrap());
        assert!(matches("a.pem", "*.{pem,key}").unwrap());
        assert!(matches("a", "[").is_err());
        assert_eq!(extension("a/b.tar.gz"), "gz");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(base_name("/a/b/"), "b");
    }

    proptest! {
        // Walking the segments from the base (the names never spell the base's own name, so
        // a path that leaves the base cannot come back): within iff the walk never leaves.
        #[test]
        fn containment_is_never_fooled(segs in proptest::collection::vec(prop_oneof![Just(".."), Just("."), Just("a"), Just("b"), Just(""), Just("etc")], 0..12)) {
            let p = format!("./{}", segs.join("/"));
            let mut depth: i64 = 0;
            let mut escaped = false;
            for s in &segs {
                match *s {
                    ".." => { depth -= 1; escaped |= depth < 0; }
                    "." | "" => {}
                    _ => depth += 1,
                }
            }
            prop_assert_eq!(within(&p, "/base/dir"), !escaped, "path {:?}", p);
        }

        /// `within` agrees with its definition: resolve, normalise, compare components.
        #[test]
        fn within_matches_its_definition(p in "/?[a-z./]{0,16}", b in "/?[a-z./]{0,10}") {
            let nb = normalize(&b);
            let full = if p.starts_with('/') || nb == "." { normalize(&p) } else { normalize(&format!("{nb}/{p}")) };
            let expected = if !b.starts_with('/') && p.starts_with('/') {
                false
            } else if nb == "/" {
                full.starts_with('/')
            } else if nb == "." {
                full != ".." && !full.starts_with("../") && !full.starts_with('/')
            } else {
                full == nb || full.starts_with(&format!("{}/", nb))
            };
            prop_assert_eq!(within(&p, &b), expected, "within({:?}, {:?})", p, b);
        }

        #[test]
        fn is_normal_agrees_with_normalize(p in "/?[a./]{0,12}") {
            prop_assert_eq!(is_normal(&p), normalize(&p) == p, "{:?}", p);
        }

        #[test]
        fn within_implies_prefix(p in "[a-z./]{0,20}", b in "/[a-z./]{0,10}") {
            if within(&p, &b) {
                let nb = normalize(&b);
                let full = resolve(&nb, &p);
                let under = nb == "/" || full == nb || full.starts_with(&format!("{}/", nb));
                prop_assert!(under, "{} not under {}", full, nb);
            }
        }
    }
}
