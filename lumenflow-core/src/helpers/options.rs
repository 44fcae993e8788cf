//! Option tables of the programs rules name, and the normalisation they allow.
//!
//! A program that parses its options with `getopt_long` (coreutils, tar, sed, curl, ...)
//! or git's `parse-options` accepts any unique prefix of a long option (`--recur` for
//! `--recursive`, `git reset --ha` for `--hard`) and a short option's value attached to
//! it (`-tDIR`, `-C/dir`). [`normalize`] rewrites a command's arguments into the form
//! rules are written against: long options spelled in full (`--opt=value` kept as one
//! word), and an attached short-option value split into its own word (`-xzfF` → `-xzf`,
//! `F`). Clusters of flags stay as written (`-rf`): patterns already match a flag inside a
//! cluster.
//!
//! The tables list the options that matter to rules, not every option a program has. A
//! prefix that several listed options share is expanded to *all* of them (the real
//! program either refuses it as ambiguous or picks one of them), so a missing entry can
//! only make a prefix resolve to a listed option, never hide one.

/// Whether a long option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A flag.
    No,
    /// Takes a value, attached with `=` or as the next word.
    Required,
    /// Takes a value only when attached with `=`.
    Optional,
}

/// The options of one program (or git subcommand).
#[derive(Debug)]
pub struct Spec {
    /// Short options that take a value (attached or as the next word).
    pub short_value: &'static str,
    /// Short options whose value is optional and can only be attached (`sed -i.bak`).
    pub short_optional: &'static str,
    /// Long options, without the leading `--`.
    pub long: &'static [(&'static str, Value)],
    /// Whether the first argument may be an old-style cluster without a dash (`tar xzf`).
    pub dashless_first: bool,
}

use Value::{No as N, Optional as O, Required as R};

const fn spec(short_value: &'static str, long: &'static [(&'static str, Value)]) -> Spec {
    Spec {
        short_value,
        short_optional: "",
        long,
        dashless_first: false,
    }
}

static RM: Spec = spec(
    "",
    &[
        ("force", N),
        ("interactive", O),
        ("one-file-system", N),
        ("no-preserve-root", N),
        ("preserve-root", O),
        ("recursive", N),
        ("dir", N),
        ("verbose", N),
    ],
);
static CP: Spec = spec(
    "tSb",
    &[
        ("archive", N),
        ("attributes-only", N),
        ("backup", O),
        ("copy-contents", N),
        ("dereference", N),
        ("force", N),
        ("interactive", N),
        ("link", N),
        ("no-clobber", N),
        ("no-dereference", N),
        ("no-target-directory", N),
        ("parents", N),
        ("preserve", O),
        ("recursive", N),
        ("remove-destination", N),
        ("reflink", O),
        ("sparse", R),
        ("strip-trailing-slashes", N),
        ("suffix", R),
        ("symbolic-link", N),
        ("target-directory", R),
        ("update", O),
        ("verbose", N),
    ],
);
static MV: Spec = spec(
    "tS",
    &[
        ("backup", O),
        ("force", N),
        ("interactive", N),
        ("no-clobber", N),
        ("no-target-directory", N),
        ("strip-trailing-slashes", N),
        ("suffix", R),
        ("target-directory", R),
        ("update", O),
        ("verbose", N),
        ("exchange", N),
    ],
);
static LN: Spec = spec(
    "tS",
    &[
        ("backup", O),
        ("force", N),
        ("interactive", N),
        ("logical", N),
        ("no-dereference", N),
        ("no-target-directory", N),
        ("physical", N),
        ("relative", N),
        ("suffix", R),
        ("symbolic", N),
        ("target-directory", R),
        ("verbose", N),
    ],
);
static INSTALL: Spec = spec(
    "tSmogbC",
    &[
        ("backup", O),
        ("directory", N),
        ("group", R),
        ("mode", R),
        ("owner", R),
        ("preserve-timestamps", N),
        ("strip", N),
        ("suffix", R),
        ("target-directory", R),
        ("no-target-directory", N),
        ("verbose", N),
    ],
);
static CHMOD: Spec = spec(
    "",
    &[
        ("changes", N),
        ("silent", N),
        ("quiet", N),
        ("verbose", N),
        ("no-preserve-root", N),
        ("preserve-root", N),
        ("reference", R),
        ("recursive", N),
    ],
);
static CHOWN: Spec = spec(
    "",
    &[
        ("changes", N),
        ("dereference", N),
        ("no-dereference", N),
        ("from", R),
        ("silent", N),
        ("quiet", N),
        ("verbose", N),
        ("no-preserve-root", N),
        ("preserve-root", N),
        ("reference", R),
        ("recursive", N),
    ],
);
static TAR: Spec = Spec {
    short_value: "fCTXbHKLNVgFI",
    short_optional: "",
    long: &[
        ("extract", N),
        ("get", N),
        ("create", N),
        ("append", N),
        ("update", N),
        ("list", N),
        ("delete", N),
        ("diff", N),
        ("compare", N),
        ("concatenate", N),
        ("catenate", N),
        ("file", R),
        ("directory", R),
        ("files-from", R),
        ("exclude-from", R),
        ("exclude", R),
        ("absolute-names", N),
        ("overwrite", N),
        ("overwrite-dir", N),
        ("unlink-first", N),
        ("recursive-unlink", N),
        ("remove-files", N),
        ("to-command", R),
        ("use-compress-program", R),
        ("checkpoint-action", R),
        ("info-script", R),
        ("new-volume-script", R),
        ("rsh-command", R),
        ("gzip", N),
        ("bzip2", N),
        ("xz", N),
        ("zstd", N),
        ("verbose", N),
        ("transform", R),
        ("xform", R),
        ("strip-components", R),
        ("keep-old-files", N),
        ("skip-old-files", N),
    ],
    dashless_first: true,
};
static SED: Spec = Spec {
    short_value: "efl",
    short_optional: "i",
    long: &[
        ("expression", R),
        ("file", R),
        ("in-place", O),
        ("quiet", N),
        ("silent", N),
        ("regexp-extended", N),
        ("separate", N),
        ("null-data", N),
        ("posix", N),
        ("sandbox", N),
        ("debug", N),
        ("follow-symlinks", N),
        ("line-length", R),
        ("unbuffered", N),
    ],
    dashless_first: false,
};
static CURL: Spec = spec(
    "dHouXFTxAebcKEwmrDCyYztUPQ",
    &[
        ("data", R),
        ("data-ascii", R),
        ("data-binary", R),
        ("data-raw", R),
        ("data-urlencode", R),
        ("form", R),
        ("form-string", R),
        ("header", R),
        ("output", R),
        ("remote-name", N),
        ("remote-name-all", N),
        ("output-dir", R),
        ("upload-file", R),
        ("user", R),
        ("request", R),
        ("proxy", R),
        ("config", R),
        ("cookie", R),
        ("cookie-jar", R),
        ("dump-header", R),
        ("json", R),
        ("url", R),
        ("insecure", N),
        ("location", N),
        ("silent", N),
        ("show-error", N),
        ("fail", N),
        ("write-out", R),
        ("trace", R),
        ("trace-ascii", R),
        ("stderr", R),
        ("netrc-file", R),
        ("variable", R),
        ("expand-url", R),
        ("parallel", N),
        ("next", N),
    ],
);
static GREP: Spec = spec(
    "efmABCdD",
    &[
        ("regexp", R),
        ("file", R),
        ("max-count", R),
        ("after-context", R),
        ("before-context", R),
        ("context", R),
        ("recursive", N),
        ("dereference-recursive", N),
        ("include", R),
        ("exclude", R),
        ("exclude-dir", R),
        ("exclude-from", R),
        ("directories", R),
        ("devices", R),
        ("label", R),
        ("color", O),
        ("colour", O),
    ],
);
static SORT: Spec = spec(
    "otkST",
    &[
        ("output", R),
        ("field-separator", R),
        ("key", R),
        ("buffer-size", R),
        ("temporary-directory", R),
        ("files0-from", R),
        ("compress-program", R),
        ("random-source", R),
    ],
);
static MKDIR: Spec = spec("m", &[("mode", R), ("parents", N), ("verbose", N)]);
static TOUCH: Spec = spec(
    "rdt",
    &[("reference", R), ("date", R), ("time", R), ("no-create", N)],
);
static TRUNCATE: Spec = spec(
    "sr",
    &[
        ("size", R),
        ("reference", R),
        ("no-create", N),
        ("io-blocks", N),
    ],
);
static SHRED: Spec = spec(
    "ns",
    &[
        ("iterations", R),
        ("size", R),
        ("random-source", R),
        ("remove", O),
        ("zero", N),
        ("force", N),
        ("exact", N),
    ],
);
static HEAD: Spec = spec("nc", &[("lines", R), ("bytes", R)]);
static MAKE: Spec = spec(
    "CfjlIoWE",
    &[
        ("directory", R),
        ("file", R),
        ("makefile", R),
        ("jobs", O),
        ("load-average", O),
        ("include-dir", R),
        ("old-file", R),
        ("assume-old", R),
        ("what-if", R),
        ("new-file", R),
        ("assume-new", R),
        ("eval", R),
        ("always-make", N),
        ("keep-going", N),
        ("silent", N),
    ],
);
static RSYNC: Spec = spec(
    "eBfT",
    &[
        ("rsh", R),
        ("rsync-path", R),
        ("delete", N),
        ("delete-before", N),
        ("delete-during", N),
        ("delete-after", N),
        ("delete-excluded", N),
        ("remove-source-files", N),
        ("filter", R),
        ("exclude", R),
        ("include", R),
        ("files-from", R),
        ("temp-dir", R),
        ("archive", N),
        ("recursive", N),
        ("backup-dir", R),
    ],
);
static UNZIP: Spec = spec("dxP", &[]);
static CRONTAB: Spec = spec("u", &[]);
static SSH: Spec = spec("BbcDEeFIiJLlmOoPpQRSWw", &[]);
static FIND: Spec = spec("", &[]);

/// Git subcommands' options (the subcommand is the first argument after git's own options).
fn git_spec(sub: &str) -> Option<&'static Spec> {
    static PUSH: Spec = spec(
        "o",
        &[
            ("all", N),
            ("branches", N),
            ("mirror", N),
            ("delete", N),
            ("tags", N),
            ("force", N),
            ("force-with-lease", O),
            ("force-if-includes", N),
            ("no-force-with-lease", N),
            ("prune", N),
            ("dry-run", N),
            ("porcelain", N),
            ("repo", R),
            ("set-upstream", N),
            ("push-option", R),
            ("receive-pack", R),
            ("exec", R),
            ("no-verify", N),
            ("verify", N),
            ("follow-tags", N),
            ("atomic", N),
            ("signed", O),
            ("quiet", N),
            ("verbose", N),
            ("progress", N),
            ("recurse-submodules", R),
            ("thin", N),
            ("ipv4", N),
            ("ipv6", N),
        ],
    );
    static RESET: Spec = spec(
        "",
        &[
            ("hard", N),
            ("soft", N),
            ("mixed", N),
            ("merge", N),
            ("keep", N),
            ("quiet", N),
            ("patch", N),
            ("pathspec-from-file", R),
            ("recurse-submodules", O),
            ("no-recurse-submodules", N),
            ("intent-to-add", N),
        ],
    );
    static CLEAN: Spec = spec(
        "e",
        &[
            ("force", N),
            ("dry-run", N),
            ("quiet", N),
            ("interactive", N),
            ("exclude", R),
        ],
    );
    static CHECKOUT: Spec = spec(
        "bB",
        &[
            ("force", N),
            ("orphan", R),
            ("detach", N),
            ("merge", N),
            ("ours", N),
            ("theirs", N),
            ("patch", N),
            ("track", O),
            ("no-track", N),
            ("overwrite-ignore", N),
            ("ignore-other-worktrees", N),
            ("pathspec-from-file", R),
            ("conflict", R),
            ("quiet", N),
            ("recurse-submodules", O),
            ("discard-changes", N),
        ],
    );
    static RESTORE: Spec = spec(
        "s",
        &[
            ("source", R),
            ("staged", N),
            ("worktree", N),
            ("overlay", N),
            ("no-overlay", N),
            ("ours", N),
            ("theirs", N),
            ("merge", N),
            ("patch", N),
            ("ignore-unmerged", N),
            ("pathspec-from-file", R),
            ("quiet", N),
            ("recurse-submodules", O),
        ],
    );
    static SWITCH: Spec = spec(
        "cC",
        &[
            ("create", R),
            ("force-create", R),
            ("force", N),
            ("discard-changes", N),
            ("detach", N),
            ("orphan", R),
            ("merge", N),
            ("guess", N),
            ("track", O),
            ("no-track", N),
            ("ignore-other-worktrees", N),
            ("recurse-submodules", O),
            ("quiet", N),
        ],
    );
    static BRANCH: Spec = spec(
        "u",
        &[
            ("delete", N),
            ("force", N),
            ("move", N),
            ("copy", N),
            ("set-upstream-to", R),
            ("unset-upstream", N),
            ("edit-description", N),
            ("list", N),
            ("all", N),
            ("remotes", N),
            ("track", O),
            ("no-track", N),
            ("create-reflog", N),
            ("contains", O),
            ("merged", O),
            ("no-merged", O),
            ("show-current", N),
            ("quiet", N),
            ("verbose", N),
            ("format", R),
            ("sort", R),
        ],
    );
    static REBASE: Spec = spec(
        "xsXC",
        &[
            ("exec", R),
            ("onto", R),
            ("root", N),
            ("interactive", N),
            ("continue", N),
            ("abort", N),
            ("skip", N),
            ("quit", N),
            ("edit-todo", N),
            ("autosquash", N),
            ("autostash", N),
            ("strategy", R),
            ("strategy-option", R),
            ("rebase-merges", O),
            ("force-rebase", N),
            ("no-verify", N),
            ("update-refs", N),
            ("keep-base", N),
        ],
    );
    static COMMIT: Spec = spec(
        "mFcCt",
        &[
            ("message", R),
            ("file", R),
            ("reedit-message", R),
            ("reuse-message", R),
            ("template", R),
            ("all", N),
            ("amend", N),
            ("no-verify", N),
            ("verify", N),
            ("allow-empty", N),
            ("fixup", R),
            ("squash", R),
            ("signoff", N),
            ("gpg-sign", O),
            ("no-gpg-sign", N),
            ("author", R),
            ("date", R),
            ("cleanup", R),
            ("dry-run", N),
            ("quiet", N),
            ("verbose", N),
            ("pathspec-from-file", R),
            ("trailer", R),
        ],
    );
    static STASH: Spec = spec(
        "m",
        &[
            ("message", R),
            ("include-untracked", N),
            ("all", N),
            ("keep-index", N),
            ("patch", N),
            ("staged", N),
            ("quiet", N),
            ("index", N),
            ("pathspec-from-file", R),
        ],
    );
    static GC: Spec = spec(
        "",
        &[
            ("prune", O),
            ("no-prune", N),
            ("aggressive", N),
            ("auto", N),
            ("force", N),
            ("quiet", N),
            ("keep-largest-pack", N),
            ("cruft", N),
        ],
    );
    static REFLOG: Spec = spec(
        "",
        &[
            ("expire", O),
            ("expire-unreachable", O),
            ("all", N),
            ("rewrite", N),
            ("updateref", N),
            ("stale-fix", N),
            ("dry-run", N),
            ("verbose", N),
            ("single-worktree", N),
        ],
    );
    static UPDATE_REF: Spec = spec("m", &[("no-deref", N), ("stdin", N), ("create-reflog", N)]);
    static WORKTREE: Spec = spec(
        "bB",
        &[
            ("force", N),
            ("detach", N),
            ("checkout", N),
            ("no-checkout", N),
            ("lock", N),
            ("reason", R),
            ("orphan", N),
            ("track", N),
            ("guess-remote", N),
            ("expire", R),
            ("dry-run", N),
            ("verbose", N),
            ("porcelain", N),
            ("quiet", N),
        ],
    );
    static CONFIG: Spec = spec(
        "f",
        &[
            ("global", N),
            ("system", N),
            ("local", N),
            ("worktree", N),
            ("file", R),
            ("blob", R),
            ("get", N),
            ("get-all", N),
            ("get-regexp", N),
            ("get-urlmatch", N),
            ("replace-all", N),
            ("add", N),
            ("unset", N),
            ("unset-all", N),
            ("rename-section", N),
            ("remove-section", N),
            ("list", N),
            ("edit", N),
            ("type", R),
            ("value", R),
            ("all", N),
            ("show-origin", N),
            ("show-scope", N),
            ("name-only", N),
            ("includes", N),
            ("default", R),
            ("null", N),
        ],
    );
    static FETCH: Spec = spec(
        "jo",
        &[
            ("all", N),
            ("prune", N),
            ("prune-tags", N),
            ("force", N),
            ("tags", N),
            ("depth", R),
            ("upload-pack", R),
            ("refmap", R),
            ("update-head-ok", N),
            ("dry-run", N),
            ("jobs", R),
            ("quiet", N),
            ("verbose", N),
            ("recurse-submodules", O),
        ],
    );
    static PULL: Spec = spec(
        "sX",
        &[
            ("rebase", O),
            ("no-rebase", N),
            ("ff-only", N),
            ("force", N),
            ("all", N),
            ("strategy", R),
            ("strategy-option", R),
            ("upload-pack", R),
            ("autostash", N),
            ("quiet", N),
            ("verbose", N),
            ("no-verify", N),
        ],
    );
    static TAG: Spec = spec(
        "mFu",
        &[
            ("delete", N),
            ("force", N),
            ("message", R),
            ("file", R),
            ("local-user", R),
            ("annotate", N),
            ("sign", N),
            ("list", N),
            ("verify", N),
        ],
    );
    static SUBMODULE: Spec = spec(
        "b",
        &[
            ("recursive", N),
            ("quiet", N),
            ("force", N),
            ("init", N),
            ("remote", N),
            ("branch", R),
            ("reference", R),
            ("depth", R),
        ],
    );
    static RM: Spec = spec(
        "",
        &[
            ("force", N),
            ("cached", N),
            ("recursive", N),
            ("dry-run", N),
            ("quiet", N),
            ("ignore-unmatch", N),
            ("sparse", N),
            ("pathspec-from-file", R),
        ],
    );
    static CLONE: Spec = spec(
        "bouc",
        &[
            ("branch", R),
            ("origin", R),
            ("upload-pack", R),
            ("config", R),
            ("template", R),
            ("depth", R),
            ("recurse-submodules", O),
            ("separate-git-dir", R),
            ("bare", N),
            ("mirror", N),
            ("quiet", N),
        ],
    );
    static MERGE: Spec = spec(
        "mFsX",
        &[
            ("message", R),
            ("file", R),
            ("strategy", R),
            ("strategy-option", R),
            ("abort", N),
            ("continue", N),
            ("no-verify", N),
            ("ff-only", N),
            ("no-ff", N),
            ("squash", N),
            ("allow-unrelated-histories", N),
        ],
    );
    static REMOTE: Spec = spec(
        "tm",
        &[
            ("fetch", N),
            ("tags", N),
            ("mirror", O),
            ("push", N),
            ("add", N),
            ("delete", N),
            ("all", N),
            ("dry-run", N),
        ],
    );
    static FILTER: Spec = spec(
        "",
        &[
            ("force", N),
            ("index-filter", R),
            ("tree-filter", R),
            ("msg-filter", R),
            ("env-filter", R),
            ("commit-filter", R),
            ("parent-filter", R),
            ("tag-name-filter", R),
            ("subdirectory-filter", R),
            ("prune-empty", N),
            ("original", R),
        ],
    );
    static BISECT: Spec = spec("", &[]);
    Some(match sub {
        "push" => &PUSH,
        "reset" => &RESET,
        "clean" => &CLEAN,
        "checkout" => &CHECKOUT,
        "restore" => &RESTORE,
        "switch" => &SWITCH,
        "branch" => &BRANCH,
        "rebase" => &REBASE,
        "commit" => &COMMIT,
        "stash" => &STASH,
        "gc" => &GC,
        "reflog" => &REFLOG,
        "update-ref" => &UPDATE_REF,
        "worktree" => &WORKTREE,
        "config" => &CONFIG,
        "fetch" => &FETCH,
        "pull" => &PULL,
        "tag" => &TAG,
        "submodule" => &SUBMODULE,
        "rm" => &RM,
        "clone" => &CLONE,
        "merge" => &MERGE,
        "remote" => &REMOTE,
        "filter-branch" => &FILTER,
        "bisect" => &BISECT,
        _ => return None,
    })
}

/// The option table of a program, by its base name (`None`: unknown, arguments kept).
pub fn spec_of(name: &str) -> Option<&'static Spec> {
    Some(match name {
        "rm" => &RM,
        "cp" => &CP,
        "mv" => &MV,
        "ln" => &LN,
        "install" => &INSTALL,
        "chmod" => &CHMOD,
        "chown" | "chgrp" => &CHOWN,
        "tar" | "bsdtar" | "gtar" => &TAR,
        "sed" | "gsed" => &SED,
        "curl" => &CURL,
        "grep" | "egrep" | "fgrep" => &GREP,
        "sort" => &SORT,
        "mkdir" => &MKDIR,
        "touch" => &TOUCH,
        "truncate" => &TRUNCATE,
        "shred" => &SHRED,
        "head" | "tail" => &HEAD,
        "make" | "gmake" => &MAKE,
        "rsync" => &RSYNC,
        "unzip" => &UNZIP,
        "crontab" => &CRONTAB,
        "ssh" | "scp" | "sftp" => &SSH,
        "find" => &FIND,
        _ => return None,
    })
}

/// The option table for `name`'s arguments `args` (for git: the subcommand's, looked up
/// from `args[0]`).
pub fn spec_for(name: &str, args: &[String]) -> Option<&'static Spec> {
    if name == "git" {
        args.first().and_then(|s| git_spec(s))
    } else {
        spec_of(name)
    }
}

/// The long options `word` (without `--` and `=value`) names: itself if listed, else
/// every listed option it is a prefix of.
fn resolve_long(spec: &Spec, word: &str) -> Vec<(&'static str, Value)> {
    if let Some(exact) = spec.long.iter().find(|(l, _)| *l == word) {
        return vec![*exact];
    }
    if word.is_empty() {
        return Vec::new();
    }
    spec.long
        .iter()
        .filter(|(l, _)| l.starts_with(word))
        .copied()
        .collect()
}

/// Rewrites `args` (a program's arguments, for git starting with the subcommand) into
/// normal form under `spec`; see the module documentation. Arguments after `--` are kept.
pub fn normalize(spec: &Spec, args: &[String], skip: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(args.len() + 2);
    out.extend(args.iter().take(skip).cloned());
    let mut i = skip;
    let mut first = true;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            out.extend(args[i - 1..].iter().cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--").filter(|l| !l.is_empty()) {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let found = resolve_long(spec, name);
            if found.is_empty() {
                out.push(a.clone());
            } else {
                for (full, _) in &found {
                    match value {
                        Some(v) => out.push(format!("--{full}={v}")),
                        None => out.push(format!("--{full}")),
                    }
                }
                if value.is_none() && found.iter().all(|(_, v)| *v == Value::Required) {
                    if let Some(v) = args.get(i) {
                        out.push(v.clone());
                        i += 1;
                    }
                }
            }
        } else if first && spec.dashless_first && !a.starts_with('-') && a.len() > 1 {
            // Old-style `tar xzfC a.tgz dir`: each letter is a flag; those that take a
            // value take the next words in order.
            for c in a.chars() {
                out.push(format!("-{c}"));
                if spec.short_value.contains(c) {
                    if let Some(v) = args.get(i) {
                        out.push(v.clone());
                        i += 1;
                    }
                }
            }
        } else if a.len() > 1 && a.starts_with('-') {
            let body = &a[1..];
            let mut split_at = None;
            let mut takes_next = false;
            for (j, c) in body.char_indices() {
                if spec.short_optional.contains(c) {
                    break;
                }
                if spec.short_value.contains(c) {
                    let k = j + c.len_utf8();
                    if body[k..].is_empty() {
                        takes_next = true;
                    } else {
                        split_at = Some(k);
                    }
                    break;
                }
            }
            match split_at {
                Some(k) => {
                    out.push(format!("-{}", &body[..k]));
                    out.push(body[k..].to_owned());
                }
                None => out.push(a.clone()),
            }
            if takes_next {
                if let Some(v) = args.get(i) {
                    out.push(v.clone());
                    i += 1;
                }
            }
        } else {
            out.push(a.clone());
        }
        first = false;
    }
    out
}

/// The operands of a command under `spec`: arguments that are neither options nor the
/// values of options (everything after `--` is an operand).
pub fn operands<'a>(spec: Option<&Spec>, args: &'a [String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            out.extend(args[i..].iter().map(String::as_str));
            break;
        }
        if a == "-" || !a.starts_with('-') {
            out.push(a.as_str());
            continue;
        }
        let Some(spec) = spec else { continue };
        if let Some(long) = a.strip_prefix("--") {
            if !long.contains('=')
                && spec
                    .long
                    .iter()
                    .any(|(l, v)| *l == long && *v == Value::Required)
            {
                i += 1;
            }
        } else {
            let body = &a[1..];
            for (j, c) in body.char_indices() {
                if spec.short_optional.contains(c) {
                    break;
                }
                if spec.short_value.contains(c) {
                    if body[j + c.len_utf8()..].is_empty() {
                        i += 1;
                    }
                    break;
                }
            }
        }
    }
    out
}

/// The value of option `short` (`-t`) or `long` (`--target-directory`) in normalised
/// arguments, the last one if given several times.
pub fn value_of<'a>(
    args: &'a [String],
    short: Option<char>,
    long: Option<&str>,
) -> Option<&'a str> {
    let mut found = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            break;
        }
        if let (Some(l), Some(rest)) = (long, a.strip_prefix("--")) {
            if let Some(v) = rest.strip_prefix(l).and_then(|r| r.strip_prefix('=')) {
                found = Some(v);
            } else if rest == l {
                found = args.get(i).map(String::as_str);
            }
            continue;
        }
        if let (Some(s), Some(body)) = (short, a.strip_prefix('-')) {
            if !body.starts_with('-') && body.ends_with(s) {
                found = args.get(i).map(String::as_str);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(name: &str, args: &[&str]) -> Vec<String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let spec = spec_for(name, &args).unwrap();
        normalize(spec, &args, usize::from(name == "git"))
    }

    #[test]
    fn unique_prefixes_resolve_like_getopt_long() {
        assert_eq!(
            norm("rm", &["--recur", "--forc", "x"]),
            ["--recursive", "--force", "x"]
        );
        assert_eq!(norm("git", &["reset", "--ha"]), ["reset", "--hard"]);
        assert_eq!(norm("git", &["push", "--mirr"]), ["push", "--mirror"]);
        // An ambiguous prefix names every candidate: the program refuses it or picks one.
        let f = norm("git", &["push", "--forc"]);
        assert!(f.contains(&"--force".to_string()), "{f:?}");
        assert!(f.contains(&"--force-with-lease".to_string()));
        assert_eq!(
            norm("cp", &["--target=/etc", "a"]),
            ["--target-directory=/etc", "a"]
        );
        assert_eq!(norm("rm", &["--unknown-thing"]), ["--unknown-thing"]);
    }

    #[test]
    fn attached_values_are_split() {
        assert_eq!(norm("cp", &["-tDIR", "a"]), ["-t", "DIR", "a"]);
        assert_eq!(
            norm("tar", &["-xzf", "a.tgz", "-C/etc"]),
            ["-xzf", "a.tgz", "-C", "/etc"]
        );
        assert_eq!(
            norm("tar", &["xzfC", "a.tgz", "/etc"]),
            ["-x", "-z", "-f", "a.tgz", "-C", "/etc"]
        );
        assert_eq!(
            norm("sed", &["-i.bak", "s/a/b/", "f"]),
            ["-i.bak", "s/a/b/", "f"]
        );
        assert_eq!(norm("rm", &["-rf", "x"]), ["-rf", "x"]);
        assert_eq!(norm("cp", &["--", "--recur"]), ["--", "--recur"]);
    }

    #[test]
    fn operands_skip_option_values() {
        let a: Vec<String> = ["-s", "0", "--reference", "r", "f", "--", "-g"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(operands(spec_of("truncate"), &a), ["f", "-g"]);
        let b: Vec<String> = ["-C", "/etc", "-xf", "a.tar"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(value_of(&b, Some('C'), Some("directory")), Some("/etc"));
        assert_eq!(value_of(&b, Some('f'), Some("file")), Some("a.tar"));
        assert_eq!(operands(spec_of("tar"), &b), Vec::<&str>::new());
    }
}
