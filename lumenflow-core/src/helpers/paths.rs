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

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path holds a NUL byte (which ends a path at the operating system's boundary,
    /// so what is checked is not what is opened).
    #[error("path `{0}` contains a NUL byte")]
    Nul(String),
    /// The glob pattern is invalid.
    #[error(transparent)]
    Glob(#[from] GlobError),
}

/// Code points that file systems ignore or that render as nothing: zero-width space,
/// joiners and marks, bidirectional controls, word joiner and invisible operators, soft
/// hyphen, byte-order mark, and the other code points HFS+ ignores in names.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Whether [`fold`] would change the normalised path `n` (only lower-case ASCII names
/// without `:`, trailing dots or spaces are left as they are).
fn needs_fold(n: &str) -> bool {
    !n.is_ascii()
        || n.bytes()
            .any(|b| b.is_ascii_uppercase() || b == b':' || b == b'\\')
        || n.split('/')
            .any(|c| c != "." && c != ".." && c.ends_with(['.', ' ']))
}

/// The form of `path` that case-insensitive and Windows/macOS file systems see: the path
/// normalised, then in each component ignorable code points removed, an NTFS stream
/// suffix (`::$INDEX_ALLOCATION`, `:$DATA`, any `:` suffix) removed, trailing dots and
/// spaces removed (`.git.` is `.git`), and letters lower-cased; then normalised again.
/// `\` separates components as `/` does. A NUL byte is an error.
pub fn fold(path: &str) -> Result<String, PathError> {
    if path.contains('\0') {
        return Err(PathError::Nul(path.replace('\0', "\\0")));
    }
    let n = normalized(path);
    if !needs_fold(&n) {
        return Ok(n.into_owned());
    }
    let n = n.replace('\\', "/");
    let mut out = String::with_capacity(n.len());
    for (i, comp) in n.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let clean: String = comp.chars().filter(|c| !is_ignorable(*c)).collect();
        let clean = match clean.find(':') {
            // `C:` at the front of an absolute Windows path is a drive, not a stream.
            Some(p) if !(i == 0 && p == 1 && clean.len() == 2) => clean[..p].to_owned(),
            _ => clean,
        };
        let trimmed = clean.trim_end_matches([' ', '.']);
        let comp = if clean.is_empty() {
            "" // the root of an absolute path
        } else if trimmed.is_empty() {
            let t = clean.trim_end_matches(' ');
            if t == ".." {
                ".."
            } else {
                "."
            }
        } else {
            trimmed
        };
        out.push_str(&comp.to_lowercase());
    }
    Ok(normalize(&out))
}

/// Whether `p` spells a shell value not known statically: it begins with `~`, or holds a
/// backtick or a `$` that starts an expansion (`$X`, `${X}`, `$(...)`, `$1`, `$@`).
pub fn is_shell_value(p: &str) -> bool {
    if p.starts_with('~') || p.contains('`') {
        return true;
    }
    let b = p.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        *c == b'$'
            && b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphanumeric() || b"_{(@*#?$!-".contains(n))
    })
}

/// Whether `path` (relative paths taken from `base`) lies at or below `base`.
/// `a/../../etc` is not within `a`; `/repo2` is not within `/repo`. A path holding a NUL
/// byte or a shell value ([`is_shell_value`]) is never within; and the path must be within
/// both as written and in its folded form ([`fold`]), so that `.. ` or `..\u{200b}` cannot
/// climb on a file system that ignores them.
pub fn within(path: &str, base: &str) -> bool {
    if path.contains('\0') || base.contains('\0') || is_shell_value(path) {
        return false;
    }
    if !within_exact(path, base) {
        return false;
    }
    let (np, nb) = (normalized(path), normalized(base));
    if !needs_fold(&np) && !needs_fold(&nb) {
        return true;
    }
    match (fold(path), fold(base)) {
        (Ok(p), Ok(b)) => within_exact(&p, &b),
        _ => false,
    }
}

fn within_exact(path: &str, base: &str) -> bool {
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

/// Compiles a glob as [`glob`] does, matching letters case-insensitively.
pub fn glob_ci(pattern: &str) -> Result<Arc<GlobMatcher>, GlobError> {
    let key = format!("\0ci\0{pattern}");
    if let Some(m) = glob_cache().read().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(m);
    }
    let matcher = Arc::new(glob_ci_of(pattern)?.compile_matcher());
    if let Ok(mut c) = glob_cache().write() {
        if c.len() >= GLOB_CACHE_LIMIT {
            c.clear();
        }
        c.insert(key, matcher.clone());
    }
    Ok(matcher)
}

/// Parses a glob with LumenFlow's options, case-insensitive.
pub(crate) fn glob_ci_of(pattern: &str) -> Result<globset::Glob, GlobError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .case_insensitive(true)
        .build()
        .map_err(|e| GlobError {
            pattern: pattern.to_owned(),
            message: e.kind().to_string(),
        })
}

/// Whether `path` matches: its normalised form by `exact`, or its folded form ([`fold`])
/// by `folded` (a case-insensitive matcher). A NUL byte is an error.
pub fn matches_with(
    path: &str,
    exact: impl Fn(&str) -> bool,
    folded: impl Fn(&str) -> bool,
) -> Result<bool, PathError> {
    if path.contains('\0') {
        return Err(PathError::Nul(path.replace('\0', "\\0")));
    }
    let n = normalized(path);
    if exact(n.as_ref()) {
        return Ok(true);
    }
    Ok(folded(&fold(path)?))
}

/// Whether the normalised `path` matches the glob `pattern`, as written or folded
/// ([`fold`], matched case-insensitively): `.ENV` and `.git./config` match `.env` and
/// `.git/**`. A NUL byte in `path` is an error.
pub fn matches(path: &str, pattern: &str) -> Result<bool, PathError> {
    let g = glob(pattern)?;
    let ci = glob_ci(pattern)?;
    matches_with(path, |p| g.is_match(p), |p| ci.is_match(p))
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

    #[test]
    fn folds_what_other_file_systems_ignore() {
        let f = |p: &str| fold(p).unwrap();
        assert_eq!(f("A/.Git::$INDEX_ALLOCATION/Config"), "a/.git/config");
        assert_eq!(f(".git./config"), ".git/config");
        assert_eq!(f(".git. . /config"), ".git/config");
        assert_eq!(f(".e\u{200b}nv"), ".env");
        assert_eq!(f(".\u{FEFF}ENV"), ".env");
        assert_eq!(f("x:$DATA"), "x");
        assert_eq!(f("C:/Users/X"), "c:/users/x");
        assert_eq!(f(".git\\config"), ".git/config");
        assert_eq!(f("a/.. /b"), "b");
        assert_eq!(f("src/main.rs"), "src/main.rs");
        assert!(matches!(fold("a\0b"), Err(PathError::Nul(_))));
        for (p, g) in [
            (".ENV", "**/.env"),
            ("x/.Env.Local", "**/.env*"),
            (".GIT/config", ".git/**"),
            (".git./config", ".git/**"),
            (".git::$INDEX_ALLOCATION/config", ".git/**"),
        ] {
            assert!(matches(p, g).unwrap(), "{p} {g}");
        }
        assert!(!matches("src/envy.rs", "**/.env").unwrap());
        assert!(matches("a\0", "**").is_err());
    }

    #[test]
    fn within_refuses_shell_values_and_folded_escapes() {
        for p in [
            "~/x", "$HOME/x", "${X}/y", "a/$(pwd)", "`pwd`/x", "$1", "a/$@",
        ] {
            assert!(!within(p, "/repo"), "{p}");
        }
        assert!(
            within("a/price$/x", "/repo"),
            "a `$` that starts no expansion is literal"
        );
        assert!(!within("a\0/x", "/repo"));
        // `.. ` is a literal name where spaces count and `..` where they are dropped.
        assert!(!within("/repo/x/.. /.. /etc", "/repo"));
        assert!(!within("/REPO/x", "/repo"));
        assert!(within("/repo/Src/X.rs", "/repo"));
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(p in "[a-zA-Z./: \u{200b}\\\\]{0,16}") {
            let once = fold(&p).unwrap();
            prop_assert_eq!(fold(&once).unwrap(), once.clone(), "{:?}", p);
        }

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
