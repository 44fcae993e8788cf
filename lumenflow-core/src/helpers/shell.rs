//! Shell commands: what a command string really runs, reads and writes.
//!
//! [`parse`] splits a shell command line into the simple commands it runs, seeing
//! through `;`, `&&`, `||`, `|`, `&`, subshells, `$(...)`, backticks, and every source of
//! code a shell reads that is visible in the line itself: `bash -o pipefail -c '...'`,
//! scripts fed on stdin (`echo ... | sh`, `sh <<< ...`, here-documents, `sh -s`,
//! `. /dev/stdin`), `eval`, aliases, `trap` strings, function bodies, and runners such as
//! `env`, `sudo`, `xargs`, `find -exec`, `watch`, `flock`, `tmux new-session`,
//! `git submodule foreach` and `git rebase -x`. Words are decoded (quotes, escapes,
//! ANSI-C `$'\x67it'`); for the programs in [`options`](crate::helpers::options) the
//! arguments are normalised (unique-prefix long options resolved, attached values split).
//!
//! What a static reading cannot know is marked, never guessed: a word computed at run
//! time (`$x`, `$(...)`, `~`, globs) makes its command [`Command::dynamic`], and code the
//! line does not contain (a pipe of unknown content into `sh`, `source file`,
//! `eval "$x"`) makes it [`Command::opaque`]. The working directory is tracked through
//! `cd`, `pushd`, `popd`, subshells, `env -C` and `git -C`, and the files read and written
//! ([`Parsed::reads`], [`Parsed::writes`]) are resolved against it.
//!
//! Tokenizing and word parsing (quotes, escapes, nested substitutions, here-documents)
//! are done by `brush-parser`; this module only interprets the tokens.
//!
//! Anything it cannot parse (an unterminated quote, nesting deeper than
//! [`MAX_NESTING`]) is an error, so a rule using it fails closed.

use crate::helpers::options;
use brush_parser::word::WordPiece;
use brush_parser::{Token, TokenizerOptions};
use std::cell::RefCell;
use std::sync::Arc;

/// How deep `$(...)`, backticks, `bash -c` and `eval` may nest before parsing gives up.
pub const MAX_NESTING: usize = 8;
/// How deep parentheses may nest. `brush-parser`'s word parser takes time exponential in
/// this depth (it doubles with each level), so deeper input is refused before it is parsed.
pub const MAX_PAREN_DEPTH: usize = 8;
/// The longest command string accepted, in bytes.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// The most words all recorded commands may hold together.
pub const MAX_WORDS: usize = 65_536;
/// How many wrappers and runners (`sudo nice timeout 5 ...`) may lead to one command.
pub const MAX_RUNNERS: usize = 32;
/// The most simple commands one command line may expand to (scripts in scripts, runners).
pub const MAX_COMMANDS: usize = 4096;

/// The fields of a command as rules see them (`shell.commands(...)` entries).
pub const COMMAND_FIELDS: &[&str] = &[
    "name",
    "program",
    "args",
    "words",
    "dynamic",
    "opaque",
    "cwd",
    "git_config",
    "via",
    "env",
];

/// One simple command found in a command line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Command {
    /// The program's base name (`/usr/bin/git` → `git`; `git-push` → `git`).
    pub name: String,
    /// The program as written, decoded.
    pub program: String,
    /// The arguments after the program, normalised for programs with an option table
    /// (long options in full, attached values split); for git without its global
    /// options, starting with the subcommand.
    pub args: Vec<String>,
    /// Every word as decoded, the program first, nothing removed or resolved.
    pub words: Vec<String>,
    /// Whether the program or an argument is computed at run time (`$x`, `$(...)`, `~`,
    /// globs, brace lists) or supplied at run time (`xargs`, `find -exec {}`).
    pub dynamic: bool,
    /// Whether the command runs shell code this reading cannot see (a script from a
    /// pipe or file, `source file`, `eval "$x"`, a program chosen by `PATH=`...).
    pub opaque: bool,
    /// The directory it runs in, relative to where the command line starts (`.`), or
    /// absolute; a directory not known statically is written as a shell value (`~`,
    /// `$OLDPWD`, `$DIRSTACK`, `$X`).
    pub cwd: String,
    /// For git: the configuration given on its command line or in the environment
    /// (`-c k=v`, `--config-env=k=ENV` as `k=$ENV`, `GIT_CONFIG_*`), section and key
    /// lower-cased.
    pub git_config: Vec<String>,
    /// The wrappers and runners it was reached through, outermost first.
    pub via: Vec<String>,
    /// Assignments that apply to it (`X=1 cmd`, `env X=1 cmd`), as written.
    pub env: Vec<String>,
}

/// A command field's value, for the policy evaluator.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    /// A string field.
    Str(&'a str),
    /// A list of strings.
    Strs(&'a [String]),
    /// A boolean.
    Bool(bool),
}

impl Command {
    /// The value of field `name` (one of [`COMMAND_FIELDS`]).
    pub fn field(&self, name: &str) -> Option<Field<'_>> {
        Some(match name {
            "name" => Field::Str(&self.name),
            "program" => Field::Str(&self.program),
            "args" => Field::Strs(&self.args),
            "words" => Field::Strs(&self.words),
            "dynamic" => Field::Bool(self.dynamic),
            "opaque" => Field::Bool(self.opaque),
            "cwd" => Field::Str(&self.cwd),
            "git_config" => Field::Strs(&self.git_config),
            "via" => Field::Strs(&self.via),
            "env" => Field::Strs(&self.env),
            _ => return None,
        })
    }

    /// The command as JSON (an object of [`COMMAND_FIELDS`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "program": self.program, "args": self.args,
            "words": self.words, "dynamic": self.dynamic, "opaque": self.opaque,
            "cwd": self.cwd, "git_config": self.git_config, "via": self.via, "env": self.env,
        })
    }

    /// Arguments that are not options: everything not starting with `-`, and everything after `--`.
    pub fn positionals(&self) -> impl Iterator<Item = &str> {
        let mut after_dd = false;
        self.args.iter().filter_map(move |a| {
            if after_dd {
                return Some(a.as_str());
            }
            if a == "--" {
                after_dd = true;
                return None;
            }
            (!a.starts_with('-') || a == "-").then_some(a.as_str())
        })
    }

    /// Option arguments (before a `--`).
    pub fn options(&self) -> impl Iterator<Item = &str> {
        self.args
            .iter()
            .take_while(|a| a.as_str() != "--")
            .filter(|a| a.starts_with('-') && a.as_str() != "-")
            .map(String::as_str)
    }

    /// Whether the command carries the option `flag`: `-f` matches `-f` and clusters such
    /// as `-rf`; `--force` matches `--force` and `--force=...` (not `--force-with-lease`).
    pub fn has_option(&self, flag: &str) -> bool {
        if let Some(long) = flag.strip_prefix("--") {
            self.options().any(|o| {
                o.strip_prefix("--").is_some_and(|rest| {
                    rest == long || rest.strip_prefix(long).is_some_and(|r| r.starts_with('='))
                })
            })
        } else if let Some(short) = flag.strip_prefix('-') {
            let mut chars = short.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => self
                    .options()
                    .any(|o| !o.starts_with("--") && o[1..].contains(c)),
                // A multi-letter single-dash flag (`-exec`, `-delete`): exact match.
                _ => self.options().any(|o| o == flag),
            }
        } else {
            false
        }
    }
}

/// Everything [`parse`] found in a command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Every simple command, in order of appearance; wrappers (`sudo`, `bash -c`, ...) and
    /// the commands they run are both listed.
    pub commands: Vec<Command>,
    /// Files the command line writes, creates, changes or removes, resolved against the
    /// tracked working directory (see `spec/functions.md` for the list of writers).
    /// `/dev/null`, `/dev/stdout`, `/dev/stderr` and `/dev/tty` are left out.
    pub writes: Vec<String>,
    /// Files the command line reads, resolved the same way.
    pub reads: Vec<String>,
    /// Whether anything is computed at run time: a dynamic command, file or directory.
    pub dynamic: bool,
    /// Whether any command runs code this reading cannot see.
    pub opaque: bool,
}

impl Parsed {
    /// Whether any command matches `pattern` (see [`Pattern`]).
    pub fn invokes(&self, pattern: &Pattern) -> bool {
        self.commands.iter().any(|c| pattern.matches(c))
    }
}

/// Why a command line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// The tokenizer rejected the input (for example an unterminated quote).
    #[error("cannot parse shell command: {0}")]
    Syntax(String),
    /// Substitutions or `sh -c` nest deeper than [`MAX_NESTING`], or parentheses deeper
    /// than [`MAX_PAREN_DEPTH`].
    #[error("shell command nests deeper than {MAX_NESTING} substitutions or {MAX_PAREN_DEPTH} parentheses")]
    TooDeep,
    /// The command line expands to more than [`MAX_COMMANDS`] simple commands or
    /// [`MAX_WORDS`] words.
    #[error("shell command runs more than {MAX_COMMANDS} simple commands or {MAX_WORDS} words")]
    TooMany,
    /// The command is longer than [`MAX_COMMAND_BYTES`].
    #[error("shell command is {0} bytes, longer than the limit of {MAX_COMMAND_BYTES}")]
    TooLong(usize),
}

/// A command pattern such as `git push --force` or `git worktree remove|prune`.
///
/// Words are separated by spaces. The first word names the program (its base name; `*`
/// for any). Later words that do not start with `-` must equal the command's positional
/// arguments in order, from the first (`git reset` matches `git reset HEAD~1`). Words
/// starting with `-` are options the command must carry anywhere (see
/// [`Command::has_option`]). Any word may list alternatives separated by `|`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    program: Vec<String>,
    positionals: Vec<Vec<String>>,
    options: Vec<Vec<String>>,
}

impl Pattern {
    /// Parses a pattern; fails on an empty pattern.
    pub fn new(src: &str) -> Result<Pattern, String> {
        let mut words = src.split_whitespace();
        let alts = |w: &str| -> Vec<String> {
            w.split('|')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let program = alts(words.next().ok_or("empty command pattern")?);
        let mut positionals = Vec::new();
        let mut options = Vec::new();
        for w in words {
            let a = alts(w);
            if a.is_empty() {
                return Err(format!("empty alternative in command pattern `{src}`"));
            }
            if a.iter().all(|x| x.starts_with('-')) {
                options.push(a);
            } else if a.iter().any(|x| x.starts_with('-')) {
                return Err(format!(
                    "`{w}` mixes options and arguments in command pattern `{src}`"
                ));
            } else {
                positionals.push(a);
            }
        }
        Ok(Pattern {
            program,
            positionals,
            options,
        })
    }

    /// Whether `cmd` matches this pattern.
    pub fn matches(&self, cmd: &Command) -> bool {
        if !self.program.iter().any(|p| p == "*" || *p == cmd.name) {
            return false;
        }
        let mut pos = cmd.positionals();
        for want in &self.positionals {
            match pos.next() {
                Some(got) if want.iter().any(|w| w == got) => {}
                _ => return false,
            }
        }
        self.options
            .iter()
            .all(|alts| alts.iter().any(|o| cmd.has_option(o)))
    }
}

/// The last command line parsed on this thread, and its result.
type Memo = Option<(String, Result<Arc<Parsed>, ShellError>)>;

thread_local! {
    static MEMO: RefCell<Memo> = const { RefCell::new(None) };
}

/// Parses like [`parse`], reusing the previous result on this thread when the command
/// line is the same string (rules of one decision often parse the same command).
pub fn parse_cached(src: &str) -> Result<Arc<Parsed>, ShellError> {
    if let Some(hit) = MEMO.with(|m| {
        m.borrow()
            .as_ref()
            .filter(|(k, _)| k == src)
            .map(|(_, v)| v.clone())
    }) {
        return hit;
    }
    let result = parse(src).map(Arc::new);
    MEMO.with(|m| *m.borrow_mut() = Some((src.to_owned(), result.clone())));
    result
}

/// Forgets the memo of [`parse_cached`] on this thread.
pub fn clear_cache() {
    MEMO.with(|m| *m.borrow_mut() = None);
}

/// Parses a command line into the commands it runs and the files it writes.
pub fn parse(src: &str) -> Result<Parsed, ShellError> {
    if src.len() > MAX_COMMAND_BYTES {
        return Err(ShellError::TooLong(src.len()));
    }
    if paren_depth(src) > MAX_PAREN_DEPTH {
        return Err(ShellError::TooDeep);
    }
    if has_empty_heredoc_delimiter(src) {
        // brush-parser's tokenizer loops for ever (allocating without bound) on these.
        return Err(ShellError::Syntax("empty here-document delimiter".into()));
    }
    let mut w = Walker::default();
    parse_into(src, 0, &mut w, &[])?;
    Ok(w.finish())
}

/// Whether a here-document operator (`<<`, `<<-`) is followed by an empty quoted
/// delimiter (`''` or `""`), anywhere in `src`.
fn has_empty_heredoc_delimiter(src: &str) -> bool {
    let b = src.as_bytes();
    let mut i = 0;
    while let Some(p) = src[i..].find("<<") {
        let mut j = i + p + 2;
        i = j;
        if b.get(j) == Some(&b'<') {
            i += 1;
            continue; // `<<<` is a here-string
        }
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        while matches!(b.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if matches!(
            (b.get(j), b.get(j + 1)),
            (Some(b'\''), Some(b'\'')) | (Some(b'"'), Some(b'"'))
        ) {
            return true;
        }
    }
    false
}

/// The deepest nesting of parentheses in `src` (quoted or not).
fn paren_depth(src: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in src.bytes() {
        match b {
            b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Runs a `brush-parser` call, turning a panic inside it into a syntax error.
fn guarded<T, E: std::fmt::Display>(f: impl FnOnce() -> Result<T, E>) -> Result<T, ShellError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(ShellError::Syntax(e.to_string())),
        Err(_) => Err(ShellError::Syntax(
            "the shell tokenizer failed on this input".into(),
        )),
    }
}

/// A token: a word (raw, quotes intact) or an operator, with its byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok<'s> {
    text: std::borrow::Cow<'s, str>,
    op: bool,
    start: usize,
    end: usize,
}

/// Characters that never change how a command line is split: with only these (plus
/// blanks and the operators `; | & < >`), words are exactly the runs between blanks and
/// operators, and none needs unquoting or expansion.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '_' | '.' | '/' | '=' | ':' | '@' | '%' | '+' | ',' | '^' | '*' | '?' | '[' | ']'
        )
}

/// Tokenizes a command line of only plain characters, blanks and the operators
/// `; | & < >` without brush-parser; `None` for anything else (quotes, substitutions,
/// here-documents, comments, grouping, newlines), which goes to the full tokenizer.
/// `fast_tokens_agree_with_brush` checks it against brush-parser.
fn fast_tokens(src: &str) -> Option<Vec<Tok<'_>>> {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(8);
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c == ' ' || c == '\t' {
            i += 1;
        } else if is_plain(c) {
            let start = i;
            while i < b.len() && is_plain(b[i] as char) {
                i += 1;
            }
            out.push(Tok {
                text: src[start..i].into(),
                op: false,
                start,
                end: i,
            });
        } else {
            let rest = &src[i..];
            let op = [
                ">>", "&&", "||", ">&", "<&", "&>>", "&>", ">|", "<>", "|&", ";", "|", "&", ">",
                "<",
            ]
            .iter()
            .filter(|o| rest.starts_with(**o))
            .max_by_key(|o| o.len())?;
            if rest.starts_with("<<") || rest.starts_with(";;") || rest.starts_with(";&") {
                return None;
            }
            out.push(Tok {
                text: (*op).into(),
                op: true,
                start: i,
                end: i + op.len(),
            });
            i += op.len();
        }
    }
    Some(out)
}

fn tokenize(src: &str) -> Result<Vec<Tok<'_>>, ShellError> {
    if let Some(t) = fast_tokens(src) {
        return Ok(t);
    }
    brush_tokens(src)
}

fn brush_tokens(src: &str) -> Result<Vec<Tok<'static>>, ShellError> {
    let tokens =
        guarded(|| brush_parser::uncached_tokenize_str(src, &TokenizerOptions::default()))?;
    Ok(tokens
        .into_iter()
        .map(|t| match t {
            Token::Word(w, span) => Tok {
                text: w.into(),
                op: false,
                start: span.start.index,
                end: span.end.index,
            },
            Token::Operator(o, span) => Tok {
                text: o.into(),
                op: true,
                start: span.start.index,
                end: span.end.index,
            },
        })
        .collect())
}

/// A decoded word: its text, and whether any of it is computed at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Word {
    text: String,
    dynamic: bool,
}

impl Word {
    fn lit(s: impl Into<String>) -> Word {
        Word {
            text: s.into(),
            dynamic: false,
        }
    }
    fn dynamic(s: impl Into<String>) -> Word {
        Word {
            text: s.into(),
            dynamic: true,
        }
    }
}

/// What a command reads on its standard input, as far as the line shows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Input {
    /// Inherited from the caller: not in the line.
    Inherit,
    /// Text the line spells out (a here-document, a here-string, `echo ... |`).
    Text(String),
    /// A file, or a pipe from a command whose output is not known.
    Unknown,
}

/// The state of one walk over a command line.
#[derive(Default)]
struct Walker {
    out: Parsed,
    cwd: Option<Word>,
    oldpwd: Option<Word>,
    dirs: Vec<Word>,
    subshells: Vec<(Word, Vec<Word>)>,
    /// Other directories the shell may be in: a `cd` that might not have run (after `&&`
    /// or `||`, inside `if`/`while`/`for`/`case`) leaves the directory before it possible.
    alts: Vec<Word>,
    /// Whether the command being recorded might not run (see `alts`).
    conditional: bool,
    functions: Vec<String>,
    cdpath: bool,
    git_env: Vec<(String, String)>,
    words_stored: usize,
    /// The text of the last `<(...)` whose output the line shows.
    procsub: Option<String>,
}

/// The path a process substitution becomes.
const PROCSUB: &str = "/dev/fd/63";

impl Walker {
    fn cwd(&self) -> Word {
        self.cwd.clone().unwrap_or_else(|| Word::lit("."))
    }

    fn finish(mut self) -> Parsed {
        let p = &mut self.out;
        p.opaque |= p.commands.iter().any(|c| c.opaque);
        p.dynamic |= p
            .commands
            .iter()
            .any(|c| c.dynamic || looks_dynamic(&c.cwd))
            || p.writes.iter().chain(&p.reads).any(|f| looks_dynamic(f));
        self.out
    }

    /// Saves the working directory state, for a child process or subshell.
    fn save(&self) -> Saved {
        (
            self.cwd.clone(),
            self.oldpwd.clone(),
            self.dirs.clone(),
            self.alts.clone(),
        )
    }

    fn restore(&mut self, s: Saved) {
        (self.cwd, self.oldpwd, self.dirs, self.alts) = s;
    }

    /// `path` resolved against `cwd` and, when `cwd` is the shell's own directory, against
    /// each other directory the shell may be in.
    fn resolved(&self, cwd: &Word, path: &str) -> Vec<String> {
        let mut out = vec![resolve(cwd, path)];
        if *cwd == self.cwd() {
            for a in &self.alts {
                let r = resolve(a, path);
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }

    fn write(&mut self, cwd: &Word, path: &str) {
        if !is_sink(path) {
            for p in self.resolved(cwd, path) {
                push_with_dot_globs(&mut self.out.writes, p);
            }
        }
    }

    fn read(&mut self, cwd: &Word, path: &str) {
        if !is_sink(path) && path != "-" {
            for p in self.resolved(cwd, path) {
                push_with_dot_globs(&mut self.out.reads, p);
            }
        }
    }

    /// Moves the shell to `next` (what `step` gives from its directory); when the move
    /// might not happen, the directories before it stay possible.
    fn move_to(&mut self, next: Word, step: impl Fn(&Word) -> Word) {
        let cur = self.cwd();
        let mut alts: Vec<Word> = self.alts.iter().map(&step).collect();
        if self.conditional {
            alts.push(cur);
            alts.extend(self.alts.iter().cloned());
        }
        alts.retain(|a| *a != next);
        alts.dedup();
        if alts.len() > 8 {
            alts.truncate(8);
            alts.push(Word::dynamic("$PWD"));
        }
        self.alts = alts;
        self.cwd = Some(next);
    }
}

/// A saved working-directory state: directory, `OLDPWD`, directory stack, alternatives.
type Saved = (Option<Word>, Option<Word>, Vec<Word>, Vec<Word>);

/// Pushes `p`, and for a glob component that could match `..` (`.*`, `.?`, `.[.]`) the
/// path with `..` in its place.
fn push_with_dot_globs(list: &mut Vec<String>, p: String) {
    if p.split('/')
        .any(|c| c.starts_with('.') && c.contains(['*', '?', '[']))
    {
        let dotted: Vec<&str> = p
            .split('/')
            .map(|c| {
                if c.starts_with('.') && c.contains(['*', '?', '[']) {
                    ".."
                } else {
                    c
                }
            })
            .collect();
        list.push(p.clone());
        list.push(dotted.join("/"));
    } else {
        list.push(p);
    }
}

/// Whether a string spells a value only known at run time (a parameter, a substitution,
/// a home directory, a glob).
pub fn looks_dynamic(s: &str) -> bool {
    s.starts_with('~') || s.contains(['$', '`']) || has_glob(s)
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?']) || (s.contains('[') && s.contains(']')) || has_brace_list(s)
}

fn has_brace_list(s: &str) -> bool {
    match (s.find('{'), s.rfind('}')) {
        (Some(a), Some(b)) if a < b => {
            let inner = &s[a + 1..b];
            inner.contains(',') || inner.contains("..")
        }
        _ => false,
    }
}

/// `path` taken from directory `cwd`: absolute paths and paths that begin with a shell
/// value (`~`, `$X`) as written; relative ones joined onto `cwd`.
fn resolve(cwd: &Word, path: &str) -> String {
    if path.starts_with(['/', '~', '$', '`']) || cwd.text == "." {
        path.to_owned()
    } else {
        format!("{}/{}", cwd.text, path)
    }
}

/// The directory `cd target` moves to from `cwd`.
fn change_dir(cwd: &Word, target: &Word, cdpath: bool) -> Word {
    if target.dynamic && target.text.starts_with(['~', '$', '`']) {
        return target.clone();
    }
    if cdpath && !target.text.starts_with(['/', '.']) && !target.text.is_empty() {
        return Word::dynamic(format!("$CDPATH/{}", target.text));
    }
    let joined = resolve(cwd, &target.text);
    if target.dynamic || cwd.dynamic {
        Word::dynamic(joined)
    } else {
        Word::lit(crate::helpers::paths::normalize(&joined))
    }
}

/// Walks `src`, recording into `w`; returns what its last command writes on standard
/// output when the line shows it.
fn parse_into(
    src: &str,
    depth: usize,
    w: &mut Walker,
    via: &[String],
) -> Result<Input, ShellError> {
    if depth > MAX_NESTING {
        return Err(ShellError::TooDeep);
    }
    let tokens = tokenize(src)?;
    let word = |i: usize| tokens.get(i).filter(|t| !t.op).map(|t| t.text.as_ref());
    let op_at = |i: usize| tokens.get(i).filter(|t| t.op).map(|t| t.text.as_ref());
    let mut words: Vec<Word> = Vec::new();
    let mut input = Input::Inherit;
    let mut pipe: Option<Input> = None;
    // Whether the next command might not run: inside a compound command's body, after
    // `&&`/`||`, or in a function body (run only when called).
    let base_cond = w.conditional;
    let mut cond_depth = 0usize;
    let mut after_andor = false;
    let mut braces = 0usize;
    let mut fn_braces: Vec<usize> = Vec::new();
    let mut pending_fn = false;
    let mut i = 0;
    while i < tokens.len() {
        let tok = &tokens[i];
        if !tok.op {
            let wd = expand_word(&tok.text, depth, w, via)?;
            if words.is_empty() && !wd.dynamic && is_reserved(&wd.text) {
                match wd.text.as_str() {
                    "if" | "while" | "until" => cond_depth += 1,
                    "fi" | "done" | "esac" => cond_depth = cond_depth.saturating_sub(1),
                    "{" => {
                        braces += 1;
                        if std::mem::take(&mut pending_fn) {
                            fn_braces.push(braces);
                        }
                    }
                    "}" => {
                        if fn_braces.last() == Some(&braces) {
                            fn_braces.pop();
                        }
                        braces = braces.saturating_sub(1);
                    }
                    _ => {}
                }
                match wd.text.as_str() {
                    "for" | "select" | "case" => {
                        cond_depth += 1;
                        // Skip the loop header up to its separator; its words were expanded above.
                        i += 1;
                        while let Some(x) = word(i) {
                            expand_word(x, depth, w, via)?;
                            i += 1;
                        }
                        continue;
                    }
                    "function" => {
                        if let Some(name) = word(i + 1) {
                            pending_fn = true;
                            w.functions.push(name.to_owned());
                            i += 2;
                            if op_at(i) == Some("(") && op_at(i + 1) == Some(")") {
                                i += 2;
                            }
                            continue;
                        }
                    }
                    _ => {}
                }
            } else {
                words.push(wd);
            }
            i += 1;
            continue;
        }
        let op = tok.text.as_ref();
        if op == "(" && words.len() == 1 && op_at(i + 1) == Some(")") {
            // `name() { ...; }`: a function definition; its body follows as commands.
            w.functions
                .push(words.pop().map(|x| x.text).unwrap_or_default());
            pending_fn = true;
            i += 2;
            continue;
        }
        w.conditional = base_cond || cond_depth > 0 || after_andor || !fn_braces.is_empty();
        if matches!(op, "<" | ">")
            && op_at(i + 1) == Some("(")
            && tokens.get(i + 1).is_some_and(|n| n.start == tok.end)
        {
            // Process substitution `<(...)` / `>(...)`: its commands run in a subshell; a
            // `<(...)` whose output the line shows (`<(echo 'x')`) gives that text to
            // whatever reads the `/dev/fd/N` it becomes.
            let mut level = 0usize;
            let mut close = None;
            for (j, t) in tokens.iter().enumerate().skip(i + 1) {
                match (t.op, t.text.as_ref()) {
                    (true, "(") => level += 1,
                    (true, ")") => {
                        level -= 1;
                        if level == 0 {
                            close = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(close) = close else {
                return Err(ShellError::Syntax("unclosed process substitution".into()));
            };
            let sub = src
                .get(tokens[i + 1].end..tokens[close].start)
                .unwrap_or_default();
            let saved = w.save();
            let output = parse_into(sub, depth + 1, w, via)?;
            w.restore(saved);
            let is_stdin = i
                .checked_sub(1)
                .and_then(|j| tokens.get(j))
                .is_some_and(|p| p.op && p.text == "<");
            if op == "<" && is_stdin {
                input = output;
            } else {
                w.procsub = match (op, output) {
                    ("<", Input::Text(t)) => Some(t),
                    _ => None,
                };
                words.push(Word::dynamic(PROCSUB));
            }
            i = close + 1;
            continue;
        }
        let Some(kind) = redirect_kind(op) else {
            let this_pipe = pipe.take();
            let output = flush(std::mem::take(&mut words), input, this_pipe, depth, w, via)?;
            input = Input::Inherit;
            match op {
                "&&" | "||" => after_andor = true,
                "|" | "|&" | "(" | ")" => {}
                _ => after_andor = false,
            }
            match op {
                "|" | "|&" => pipe = Some(output),
                "(" => w.subshells.push((w.cwd(), w.alts.clone())),
                ")" => {
                    if let Some((c, a)) = w.subshells.pop() {
                        w.cwd = Some(c);
                        w.alts = a;
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        };
        // An IO number (`2>`) directly before the operator belongs to it.
        let mut fd: Option<String> = None;
        if let (Some(prev), Some(last)) =
            (i.checked_sub(1).and_then(|j| tokens.get(j)), words.last())
        {
            if !prev.op
                && prev.end == tok.start
                && prev.text.chars().all(|c| c.is_ascii_digit())
                && last.text == prev.text
            {
                fd = words.pop().map(|x| x.text);
            }
        }
        let cwd = w.cwd();
        match kind {
            Redirect::HereDoc => {
                // Delimiter, body, closing delimiter.
                let quoted = word(i + 1).is_some_and(|d| d.contains(['\'', '"', '\\']));
                if let Some(body) = word(i + 2) {
                    if !quoted {
                        scan_substitutions(body, depth, w, via)?;
                    }
                    if fd.as_deref().is_none_or(|f| f == "0") {
                        input = Input::Text(body.to_owned());
                    }
                }
                i += 4;
            }
            Redirect::Read | Redirect::Write | Redirect::Dup | Redirect::ReadWrite => {
                match word(i + 1) {
                    Some(target) => {
                        let t = expand_word(target, depth, w, via)?;
                        let stdin = fd.as_deref().is_none_or(|f| f == "0");
                        match (kind, op) {
                            (Redirect::Read, "<<<") => {
                                if stdin {
                                    input = if t.dynamic {
                                        Input::Unknown
                                    } else {
                                        Input::Text(format!("{}\n", t.text))
                                    };
                                }
                            }
                            (Redirect::Read, _) => {
                                w.read(&cwd, &t.text);
                                if stdin {
                                    input = Input::Unknown;
                                }
                            }
                            (Redirect::ReadWrite, _) => {
                                w.read(&cwd, &t.text);
                                w.write(&cwd, &t.text);
                                if stdin {
                                    input = Input::Unknown;
                                }
                            }
                            (Redirect::Dup, _) => {
                                let dup =
                                    t.text == "-" || t.text.chars().all(|c| c.is_ascii_digit());
                                if !dup {
                                    w.write(&cwd, &t.text);
                                }
                            }
                            _ => w.write(&cwd, &t.text),
                        }
                        i += 2;
                    }
                    None => i += 1, // `< <(...)`: the substitution follows.
                }
            }
        }
    }
    let this_pipe = pipe.take();
    w.conditional = base_cond || cond_depth > 0 || after_andor || !fn_braces.is_empty();
    let out = flush(words, input, this_pipe, depth, w, via)?;
    w.conditional = base_cond;
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirect {
    Read,
    Write,
    ReadWrite,
    Dup,
    HereDoc,
}

fn redirect_kind(op: &str) -> Option<Redirect> {
    Some(match op {
        ">" | ">>" | ">|" | "&>" | "&>>" => Redirect::Write,
        "<>" => Redirect::ReadWrite,
        "<" | "<<<" => Redirect::Read,
        ">&" | "<&" => Redirect::Dup,
        "<<" | "<<-" => Redirect::HereDoc,
        _ => return None,
    })
}

fn is_sink(target: &str) -> bool {
    matches!(
        target,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/fd/1" | "/dev/fd/2"
    )
}

fn is_reserved(w: &str) -> bool {
    matches!(
        w,
        "if" | "then"
            | "else"
            | "elif"
            | "fi"
            | "do"
            | "done"
            | "while"
            | "until"
            | "for"
            | "case"
            | "esac"
            | "select"
            | "function"
            | "{"
            | "}"
            | "!"
            | "[["
            | "]]"
            | "in"
            | "coproc"
    )
}

/// The decoded value of a word, with quotes removed and ANSI-C escapes decoded; command
/// substitutions inside it are parsed as commands in their own right.
fn expand_word(
    word: &str,
    depth: usize,
    w: &mut Walker,
    via: &[String],
) -> Result<Word, ShellError> {
    if !word.contains(['\'', '"', '\\', '$', '`', '~']) {
        return Ok(Word {
            dynamic: has_glob(word),
            text: word.to_owned(),
        });
    }
    let pieces = guarded(|| brush_parser::word::parse(word, &Default::default()))?;
    let mut out = Word {
        text: String::with_capacity(word.len()),
        dynamic: false,
    };
    expand_pieces(word, &pieces, depth, w, via, false, &mut out)?;
    Ok(out)
}

fn expand_pieces(
    word: &str,
    pieces: &[brush_parser::word::WordPieceWithSource],
    depth: usize,
    w: &mut Walker,
    via: &[String],
    in_dq: bool,
    out: &mut Word,
) -> Result<(), ShellError> {
    for p in pieces {
        let raw = word.get(p.start_index..p.end_index).unwrap_or_default();
        match &p.piece {
            WordPiece::Text(s) => {
                if !in_dq && has_glob(s) {
                    out.dynamic = true;
                }
                out.text.push_str(s)
            }
            WordPiece::SingleQuotedText(s) => out.text.push_str(s),
            WordPiece::AnsiCQuotedText(s) => out.text.push_str(&decode_ansi_c(s)),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                expand_pieces(word, inner, depth, w, via, true, out)?
            }
            WordPiece::EscapeSequence(s) => {
                let c = s.strip_prefix('\\').unwrap_or(s);
                if in_dq && !c.starts_with(['$', '`', '"', '\\', '\n']) {
                    out.text.push_str(s);
                } else if c != "\n" {
                    out.text.push_str(c);
                }
            }
            WordPiece::CommandSubstitution(s) | WordPiece::BackquotedCommandSubstitution(s) => {
                let saved = w.save();
                parse_into(s, depth + 1, w, via)?;
                w.restore(saved);
                out.dynamic = true;
                out.text.push_str(raw);
            }
            WordPiece::TildeExpansion(_) => {
                out.dynamic = true;
                out.text.push_str(raw)
            }
            WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                // `${a:-$(b)}` and `$(( $(b) + 1 ))` run `b`: scan what is *inside* the
                // expansion, one level deeper (scanning `raw` itself would find the same
                // expansion again, for ever).
                let inner = raw
                    .strip_prefix("$((")
                    .and_then(|r| r.strip_suffix("))"))
                    .or_else(|| raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')))
                    .or_else(|| raw.strip_prefix("$[").and_then(|r| r.strip_suffix(']')))
                    .unwrap_or("");
                scan_substitutions(inner, depth + 1, w, via)?;
                out.dynamic = true;
                out.text.push_str(raw)
            }
        }
    }
    Ok(())
}

/// Decodes the body of an ANSI-C quoted string (`$'...'`) as bash does.
fn decode_ansi_c(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    let hex = |it: &mut std::iter::Peekable<std::str::Chars<'_>>, max: usize| -> Option<u32> {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match it.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    it.next();
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(v)
    };
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            out.push('\\');
            break;
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'e' | 'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' | '\'' | '"' | '?' => out.push(e),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v & 0xff).unwrap_or('\u{fffd}'));
            }
            'x' => match hex(&mut it, 2) {
                Some(v) => out.push(char::from_u32(v).unwrap_or('\u{fffd}')),
                None => out.push_str("\\x"),
            },
            'u' => match hex(&mut it, 4) {
                Some(v) => out.push(char::from_u32(v).unwrap_or('\u{fffd}')),
                None => out.push_str("\\u"),
            },
            'U' => match hex(&mut it, 8) {
                Some(v) => out.push(char::from_u32(v).unwrap_or('\u{fffd}')),
                None => out.push_str("\\U"),
            },
            'c' => match it.next() {
                Some(x) => out.push(char::from_u32((x as u32) & 0x1f).unwrap_or('\u{fffd}')),
                None => out.push_str("\\c"),
            },
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// Parses the command substitutions in free text (a here-document body, an expansion).
fn scan_substitutions(
    body: &str,
    depth: usize,
    w: &mut Walker,
    via: &[String],
) -> Result<(), ShellError> {
    if !body.contains("$(") && !body.contains('`') {
        return Ok(());
    }
    if depth > MAX_NESTING {
        return Err(ShellError::TooDeep);
    }
    let quoted = format!("\"{}\"", body.replace('"', "\\\""));
    expand_word(&quoted, depth, w, via).map(|_| ())
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn assignment(w: &str) -> Option<(&str, &str)> {
    let (name, value) = w.split_once('=')?;
    let name = name.strip_suffix('+').unwrap_or(name);
    (!name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((name, value))
}

/// Environment variables whose value a program runs as a shell command.
const RUNS_CODE: &[&str] = &[
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_PAGER",
    "PAGER",
    "MANPAGER",
    "GIT_EDITOR",
    "EDITOR",
    "VISUAL",
    "GIT_SEQUENCE_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "GIT_PROXY_COMMAND",
    "PROMPT_COMMAND",
    "LESSOPEN",
    "LESSCLOSE",
    "RSYNC_RSH",
];

/// Environment variables that make a program load or run code not in the line.
const LOADS_CODE: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "LD_PRELOAD",
    "LD_AUDIT",
    "LD_LIBRARY_PATH",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
    "GIT_DIR",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "PROMPT_COMMAND",
    "IFS",
];

/// Handles one assignment (`NAME=value`); returns whether it makes what runs opaque.
fn assign(
    name: &str,
    value: &str,
    depth: usize,
    w: &mut Walker,
    via: &[String],
) -> Result<bool, ShellError> {
    if name == "CDPATH" {
        w.cdpath = true;
    }
    if name.starts_with("GIT_CONFIG") {
        w.git_env.push((name.to_owned(), value.to_owned()));
    }
    if RUNS_CODE.contains(&name) {
        run_script(value, looks_dynamic(value), depth, w, via, true)?;
    }
    Ok(LOADS_CODE.contains(&name))
}

/// Parses `script` as code a child shell runs (its directory changes do not persist).
/// Returns whether it is opaque (computed at run time).
fn run_script(
    script: &str,
    dynamic: bool,
    depth: usize,
    w: &mut Walker,
    via: &[String],
    child: bool,
) -> Result<bool, ShellError> {
    let saved = child.then(|| w.save());
    parse_into(script, depth + 1, w, via)?;
    if let Some(s) = saved {
        w.restore(s);
    }
    Ok(dynamic)
}

/// What a runner runs.
enum Inner {
    /// A command given as words.
    Cmd(Vec<Word>),
    /// Shell code.
    Script(Word),
    /// Code read from standard input (`sh -s`, `. /dev/stdin`).
    Stdin,
    /// Code the line does not contain (a script file, `make -f -`).
    Opaque,
}

/// Records one simple command (and what its wrappers run) from its expanded words;
/// returns what it writes on its standard output, when the line shows it.
fn flush(
    words: Vec<Word>,
    input: Input,
    pipe: Option<Input>,
    depth: usize,
    w: &mut Walker,
    via: &[String],
) -> Result<Input, ShellError> {
    let input = match (input, pipe) {
        (Input::Inherit, Some(p)) => p,
        (i, _) => i,
    };
    let mut env = Vec::new();
    let mut opaque = false;
    let mut rest: &[Word] = &words;
    while let Some((name, value)) = rest.first().and_then(|x| assignment(&x.text)) {
        opaque |= assign(name, value, depth, w, via)?;
        env.push(rest[0].text.clone());
        rest = &rest[1..];
    }
    if rest.is_empty() {
        w.out.opaque |= opaque;
        return Ok(Input::Unknown);
    }
    command(rest.to_vec(), env, opaque, input, depth, w, via, true)
}

/// Programs that run a shell script given with `-c` or read one.
fn is_shell(name: &str) -> bool {
    matches!(
        name,
        "bash"
            | "sh"
            | "zsh"
            | "dash"
            | "ksh"
            | "mksh"
            | "ash"
            | "fish"
            | "csh"
            | "tcsh"
            | "yash"
            | "posh"
            | "rbash"
    )
}

#[allow(clippy::too_many_arguments)]
fn command(
    words: Vec<Word>,
    env: Vec<String>,
    env_opaque: bool,
    input: Input,
    depth: usize,
    w: &mut Walker,
    via: &[String],
    same_shell: bool,
) -> Result<Input, ShellError> {
    if w.out.commands.len() >= MAX_COMMANDS {
        return Err(ShellError::TooMany);
    }
    if via.len() > MAX_RUNNERS {
        return Err(ShellError::TooDeep);
    }
    // Each runner level stores its command's words again: bound the total, so that
    // `nice nice ... nice` cannot make the walk quadratic in the input.
    w.words_stored += words.len();
    if w.words_stored > MAX_WORDS {
        return Err(ShellError::TooMany);
    }
    let Some((program, args)) = words.split_first() else {
        return Ok(Input::Unknown);
    };
    let mut name = basename(&program.text).to_owned();
    let mut args: Vec<Word> = args.to_vec();
    // Dashed git programs: `git-push` and `/usr/lib/git-core/git-push` are `git push`.
    if let Some(sub) = name.strip_prefix("git-").filter(|s| !s.is_empty()) {
        args.insert(0, Word::lit(sub));
        name = "git".into();
    }
    let mut cwd = w.cwd();
    let mut git_config = Vec::new();
    let mut arg_text: Vec<String> = args.iter().map(|a| a.text.clone()).collect();
    let mut dynamic = program.dynamic || args.iter().any(|a| a.dynamic);
    if name == "git" {
        let g = git_globals(&arg_text);
        if let Some(dir) = &g.dir {
            cwd = change_dir(&cwd, &Word::lit(dir.clone()), false);
            dynamic |= looks_dynamic(dir);
        }
        git_config = g.config;
        for (k, v) in &w.git_env {
            match k.as_str() {
                "GIT_CONFIG_PARAMETERS" => {
                    for e in v.split(['\'', ' ']).filter(|e| e.contains('=')) {
                        git_config.push(config_entry(e));
                    }
                }
                k if k.starts_with("GIT_CONFIG_KEY_") => {
                    let n = &k["GIT_CONFIG_KEY_".len()..];
                    let val = w
                        .git_env
                        .iter()
                        .find(|(kk, _)| kk.strip_prefix("GIT_CONFIG_VALUE_") == Some(n))
                        .map_or("", |(_, vv)| vv.as_str());
                    git_config.push(config_entry(&format!("{v}={val}")));
                }
                _ => {}
            }
        }
        arg_text = arg_text[g.skip..].to_vec();
        args = args[g.skip..].to_vec();
    }
    if let Some(spec) = options::spec_for(&name, &arg_text) {
        arg_text = options::normalize(spec, &arg_text, usize::from(name == "git"));
    }
    if name == "make" {
        if let Some(dir) = options::value_of(&arg_text, Some('C'), Some("directory")) {
            cwd = change_dir(&cwd, &Word::lit(dir), false);
        }
    }
    let idx = w.out.commands.len();
    w.out.commands.push(Command {
        name: name.clone(),
        program: program.text.clone(),
        args: arg_text,
        words: words.iter().map(|x| x.text.clone()).collect(),
        dynamic,
        opaque: env_opaque,
        cwd: cwd.text.clone(),
        git_config,
        via: via.to_vec(),
        env,
    });
    files(idx, &cwd, w);
    let mut via2 = via.to_vec();
    via2.push(name.clone());
    let cmd_args = w.out.commands[idx].args.clone();
    let mut opaque = false;
    let mut inner: Vec<Inner> = Vec::new();
    let mut inner_cwd: Option<Word> = None;
    let mut inner_same_shell = false;
    let mut output = Input::Unknown;
    let text = |a: &[Word]| {
        a.iter()
            .map(|x| x.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let joined = |a: &[Word]| Word {
        text: text(a),
        dynamic: a.iter().any(|x| x.dynamic),
    };
    match name.as_str() {
        "cd" | "pushd" | "popd" if same_shell => {
            let target = args
                .iter()
                .find(|a| !(a.text.starts_with('-') && a.text.len() > 1 && name == "cd"));
            let cur = w.cwd();
            let next = match (name.as_str(), target) {
                ("popd", _) => w.dirs.pop().unwrap_or_else(|| Word::dynamic("$DIRSTACK")),
                ("pushd", None) => match w.dirs.pop() {
                    Some(top) => {
                        w.dirs.push(cur.clone());
                        top
                    }
                    None => Word::dynamic("$DIRSTACK"),
                },
                ("pushd", Some(t)) if t.text.starts_with(['+', '-']) => Word::dynamic("$DIRSTACK"),
                (_, None) => Word::dynamic("~"),
                ("cd", Some(t)) if t.text == "-" => {
                    w.oldpwd.clone().unwrap_or_else(|| Word::dynamic("$OLDPWD"))
                }
                (_, Some(t)) => change_dir(&cur, t, w.cdpath),
            };
            if name == "pushd" && target.is_some_and(|t| !t.text.starts_with(['+', '-'])) {
                w.dirs.push(cur.clone());
            }
            let step = match (name.as_str(), target) {
                ("cd" | "pushd", Some(t)) if !t.text.starts_with(['+', '-']) => Some(t.clone()),
                _ => None,
            };
            let cdpath = w.cdpath;
            w.oldpwd = Some(cur);
            let n2 = next.clone();
            w.move_to(next, |a| match &step {
                Some(t) => change_dir(a, t, cdpath),
                None => n2.clone(),
            });
        }
        "export" | "declare" | "typeset" | "local" | "readonly" => {
            for a in &args {
                if let Some((n, v)) = assignment(&a.text) {
                    opaque |= assign(n, v, depth, w, &via2)?;
                }
            }
        }
        "alias" => {
            for a in &args {
                if let Some((n, v)) = a.text.split_once('=') {
                    w.functions.push(n.to_owned());
                    inner.push(Inner::Script(Word {
                        text: v.to_owned(),
                        dynamic: a.dynamic,
                    }));
                }
            }
            inner_same_shell = true;
        }
        "trap" => {
            if let Some(a) = args
                .first()
                .filter(|a| !a.text.starts_with('-') && args.len() > 1)
            {
                inner.push(Inner::Script(a.clone()));
            }
        }
        "eval" => {
            inner.push(Inner::Script(joined(&args)));
            inner_same_shell = true;
        }
        "source" | "." => {
            match args.iter().find(|a| a.text != "--") {
                Some(f) if is_stdin_path(&f.text) => inner.push(Inner::Stdin),
                Some(f) if f.text == PROCSUB => inner.push(match w.procsub.take() {
                    Some(t) => Inner::Script(Word::lit(t)),
                    None => Inner::Opaque,
                }),
                Some(f) => {
                    let c = w.cwd();
                    w.read(&c, &f.text);
                    inner.push(Inner::Opaque);
                }
                None => inner.push(Inner::Opaque),
            }
            inner_same_shell = true;
        }
        "echo" | "printf" if !dynamic => {
            let rest: Vec<&str> = if name == "echo" {
                args.iter()
                    .map(|a| a.text.as_str())
                    .skip_while(|a| matches!(*a, "-n" | "-e" | "-E" | "-ne" | "-en"))
                    .collect()
            } else if args.len() > 1 {
                args[1..].iter().map(|a| a.text.as_str()).collect()
            } else {
                args.iter().map(|a| a.text.as_str()).collect()
            };
            let sep = if name == "printf" && args.len() > 1 {
                "\n"
            } else {
                " "
            };
            let mut t = rest.join(sep);
            if name == "printf" || args.first().is_some_and(|a| a.text.contains('e')) {
                t = t.replace("\\n", "\n");
            }
            output = Input::Text(t);
        }
        "cat" if args.is_empty() => {
            output = input.clone();
        }
        n if is_shell(n) => {
            inner.extend(shell_invocation(&args, w));
        }
        "busybox" => {
            if args.first().is_some_and(|a| !a.text.starts_with('-')) {
                inner.push(Inner::Cmd(args.clone()));
            }
        }
        "git" => {
            inner.extend(git_runs(&cmd_args, &args));
            for c in w.out.commands[idx].git_config.clone() {
                if let Some((k, v)) = c.split_once('=') {
                    if config_runs_code(k) {
                        let v = v.strip_prefix('!').unwrap_or(v);
                        opaque |= foreign_script(v, depth, w, &via2);
                    }
                }
            }
        }
        "rsync" => {
            if let Some(v) = options::value_of(&cmd_args, Some('e'), Some("rsh")) {
                opaque |= foreign_script(v, depth, w, &via2);
            }
        }
        "ssh" | "scp" | "sftp" => {
            for (i, a) in cmd_args.iter().enumerate() {
                let opt = if a == "-o" {
                    cmd_args.get(i + 1).map(String::as_str)
                } else {
                    a.strip_prefix("-o").filter(|_| !a.starts_with("--"))
                };
                if let Some((k, v)) = opt.and_then(|o| o.split_once(['=', ' '])) {
                    if matches!(
                        k.to_ascii_lowercase().as_str(),
                        "proxycommand" | "localcommand" | "knownhostscommand"
                    ) {
                        opaque |= foreign_script(v, depth, w, &via2);
                    }
                }
            }
            if name == "scp" {
                if let Some(v) = options::value_of(&cmd_args, Some('S'), None) {
                    opaque |= foreign_script(v, depth, w, &via2);
                }
            }
        }
        "man" => {
            if let Some(v) = options::value_of(&cmd_args, Some('P'), Some("pager")) {
                opaque |= foreign_script(v, depth, w, &via2);
            }
        }
        "make" | "gmake" => {
            if options::value_of(&cmd_args, Some('f'), Some("file")).is_some_and(is_stdin_path)
                || options::value_of(&cmd_args, None, Some("makefile")).is_some_and(is_stdin_path)
            {
                // A makefile on standard input: its recipes (tab-indented lines, and what
                // follows `;` on a rule line) are shell commands when the line shows them.
                match &input {
                    Input::Text(t) => {
                        opaque |= t.contains('$');
                        for line in t.lines() {
                            let recipe = match line.strip_prefix('\t') {
                                Some(r) => Some(r),
                                None => line
                                    .split_once(':')
                                    .and_then(|(_, r)| r.split_once(';'))
                                    .map(|(_, r)| r),
                            };
                            if let Some(r) = recipe {
                                let r = r.trim_start_matches(['@', '-', '+']);
                                opaque |= foreign_script(r, depth, w, &via2);
                            }
                        }
                    }
                    _ => opaque = true,
                }
            }
        }
        "tar" => {
            for opt in [
                "to-command",
                "use-compress-program",
                "info-script",
                "new-volume-script",
                "rsh-command",
            ] {
                if let Some(v) = options::value_of(&cmd_args, None, Some(opt)) {
                    inner.push(Inner::Script(Word::lit(v)));
                }
            }
            if let Some(v) = options::value_of(&cmd_args, Some('I'), None) {
                inner.push(Inner::Script(Word::lit(v)));
            }
            for a in &cmd_args {
                if let Some(v) = a.strip_prefix("--checkpoint-action=exec=") {
                    inner.push(Inner::Script(Word::lit(v)));
                }
            }
        }
        "find" => {
            let roots: Vec<&Word> = args
                .iter()
                .take_while(|a| !a.text.starts_with('-') && a.text != "(" && a.text != "!")
                .collect();
            let placeholder = match roots.as_slice() {
                [] => Word::dynamic("./**"),
                [r] if !r.dynamic => Word::dynamic(format!("{}/**", r.text.trim_end_matches('/'))),
                _ => Word::dynamic("$FIND"),
            };
            let mut j = 0;
            while j < args.len() {
                if matches!(
                    args[j].text.as_str(),
                    "-exec" | "-execdir" | "-ok" | "-okdir"
                ) {
                    let start = j + 1;
                    let mut end = start;
                    while end < args.len() && !matches!(args[end].text.as_str(), ";" | "+") {
                        end += 1;
                    }
                    let cmd: Vec<Word> = args[start..end]
                        .iter()
                        .map(|a| {
                            if a.text.contains("{}") {
                                Word::dynamic(a.text.replace("{}", &placeholder.text))
                            } else {
                                a.clone()
                            }
                        })
                        .collect();
                    inner.push(Inner::Cmd(cmd));
                    j = end;
                }
                j += 1;
            }
        }
        "xargs" => {
            let (rest, repl) = xargs_command(&args);
            let mut cmd: Vec<Word> = rest.to_vec();
            match repl {
                Some(r) => {
                    for a in &mut cmd {
                        if a.text.contains(&r) {
                            *a = Word::dynamic(a.text.replace(&r, "$XARGS"));
                        }
                    }
                }
                None => cmd.push(Word::dynamic("$XARGS")),
            }
            if rest.is_empty() {
                cmd = vec![Word::lit("echo"), Word::dynamic("$XARGS")];
            }
            inner.push(Inner::Cmd(cmd));
        }
        "parallel" => {
            let rest = skip_opts(
                &args,
                &[
                    "-j",
                    "-S",
                    "--jobs",
                    "-a",
                    "--arg-file",
                    "--colsep",
                    "-I",
                    "--joblog",
                    "--results",
                    "--tmpdir",
                    "-d",
                    "--delimiter",
                    "--sshlogin",
                    "-L",
                    "-n",
                    "-N",
                    "--max-args",
                    "--halt",
                    "--timeout",
                    "-E",
                    "--env",
                    "--workdir",
                    "--wd",
                ],
                0,
            );
            let end = rest
                .iter()
                .position(|a| a.text.starts_with(":::"))
                .unwrap_or(rest.len());
            if end == 0 {
                opaque = true; // commands read from standard input
            } else {
                let mut s = joined(&rest[..end]);
                s.text = s.text.replace("{}", "$PARALLEL");
                s.dynamic = true;
                inner.push(Inner::Script(s));
            }
        }
        "watch" => {
            let exec = args.iter().any(|a| a.text == "-x" || a.text == "--exec");
            let rest = skip_opts(&args, &["-n", "--interval", "-q", "--equexit"], 0);
            if !rest.is_empty() {
                inner.push(if exec {
                    Inner::Cmd(rest.to_vec())
                } else {
                    Inner::Script(joined(rest))
                });
            }
        }
        "script" => {
            let mut j = 0;
            while j < args.len() {
                let a = &args[j].text;
                if let Some(v) = a.strip_prefix("--command=") {
                    inner.push(Inner::Script(Word {
                        text: v.to_owned(),
                        dynamic: args[j].dynamic,
                    }));
                } else if a == "--command"
                    || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('c'))
                {
                    if let Some(v) = args.get(j + 1) {
                        inner.push(Inner::Script(v.clone()));
                        j += 1;
                    }
                }
                j += 1;
            }
        }
        "su" | "runuser" => {
            let mut j = 0;
            while j < args.len() {
                let a = &args[j].text;
                if let Some(v) = a
                    .strip_prefix("--command=")
                    .or_else(|| a.strip_prefix("--session-command="))
                {
                    inner.push(Inner::Script(Word {
                        text: v.to_owned(),
                        dynamic: args[j].dynamic,
                    }));
                } else if matches!(a.as_str(), "-c" | "--command" | "--session-command") {
                    if let Some(v) = args.get(j + 1) {
                        inner.push(Inner::Script(v.clone()));
                        j += 1;
                    }
                } else if a == "--" && name == "runuser" {
                    inner.push(Inner::Cmd(args[j + 1..].to_vec()));
                    break;
                }
                j += 1;
            }
            if inner.is_empty() {
                // No command: a login shell reading its standard input.
                inner.push(Inner::Stdin);
            }
        }
        "tmux" => inner.extend(tmux_runs(&args)),
        "screen" => {
            let rest = skip_opts(
                &args,
                &[
                    "-S", "-c", "-t", "-p", "-X", "-Logfile", "-e", "-h", "-s", "-T",
                ],
                0,
            );
            if !rest.is_empty() {
                inner.push(Inner::Cmd(rest.to_vec()));
            }
        }
        "flock" => {
            let rest = skip_opts(&args, &["-w", "-E", "--timeout", "--conflict-exit-code"], 1);
            match rest.first().map(|a| a.text.as_str()) {
                Some("-c" | "--command") => {
                    if let Some(s) = rest.get(1) {
                        inner.push(Inner::Script(s.clone()))
                    }
                }
                Some(_) => inner.push(Inner::Cmd(rest.to_vec())),
                None => {}
            }
        }
        "sudo" | "doas" | "sudoedit" => {
            let shell_flag = args
                .iter()
                .take_while(|a| a.text.starts_with('-'))
                .any(|a| matches!(a.text.as_str(), "-s" | "-i" | "--shell" | "--login"));
            let mut j = 0;
            while let Some(a) = args.get(j) {
                if let Some(d) = a.text.strip_prefix("--chdir=") {
                    inner_cwd = Some(Word {
                        text: d.to_owned(),
                        dynamic: a.dynamic,
                    });
                } else if a.text == "-D" || a.text == "--chdir" {
                    inner_cwd = args.get(j + 1).cloned();
                }
                if !a.text.starts_with('-') {
                    break;
                }
                j += 1;
            }
            let rest = skip_opts(
                &args,
                &[
                    "-u",
                    "-g",
                    "-C",
                    "-D",
                    "-h",
                    "-p",
                    "-r",
                    "-t",
                    "-U",
                    "-T",
                    "-R",
                    "--user",
                    "--group",
                    "--chdir",
                    "--host",
                    "--prompt",
                    "--role",
                    "--type",
                    "--other-user",
                    "--command-timeout",
                    "--chroot",
                    "--close-from",
                ],
                0,
            );
            if !rest.is_empty() {
                inner.push(if shell_flag {
                    Inner::Script(joined(rest))
                } else {
                    Inner::Cmd(rest.to_vec())
                });
            } else if shell_flag {
                // `sudo -i` alone: a root shell reading its standard input.
                inner.push(Inner::Stdin);
            }
        }
        "env" => {
            let (rest, split, dir, assigns) = env_args(&args);
            for (n, v) in &assigns {
                opaque |= assign(n, v, depth, w, &via2)?;
            }
            if let Some(s) = split {
                inner.push(Inner::Script(s));
            }
            inner_cwd = dir;
            if !rest.is_empty() {
                inner.push(Inner::Cmd(rest));
            }
        }
        "entr" => {
            let shell_mode = args
                .iter()
                .take_while(|a| a.text.starts_with('-'))
                .any(|a| a.text.contains('s'));
            let rest = skip_opts(&args, &[], 0);
            if let Some(first) = rest.first() {
                inner.push(if shell_mode {
                    Inner::Script(first.clone())
                } else {
                    Inner::Cmd(rest.to_vec())
                });
            }
        }
        _ => {
            if let Some(rest) = simple_runner(&name, &args) {
                if !rest.is_empty() {
                    inner.push(Inner::Cmd(rest.to_vec()));
                }
                inner_same_shell = matches!(name.as_str(), "command" | "builtin" | "exec");
            } else if w.functions.contains(&name) && !args.is_empty() {
                // A shell function or alias may run its arguments (`f() { "$@"; }`).
                inner.push(Inner::Cmd(args.clone()));
                inner_same_shell = true;
            }
        }
    }
    for x in inner {
        match x {
            Inner::Cmd(words) => {
                let saved = (!inner_same_shell).then(|| w.save());
                if let Some(d) = &inner_cwd {
                    let c = change_dir(&w.cwd(), d, false);
                    w.cwd = Some(c);
                }
                // The inner command's own assignments (`env X=1 Y=2 cmd` was split above).
                let mut rest: &[Word] = &words;
                let mut env2 = Vec::new();
                let mut op2 = false;
                while let Some((n, v)) = rest.first().and_then(|x| assignment(&x.text)) {
                    op2 |= assign(n, v, depth, w, &via2)?;
                    env2.push(rest[0].text.clone());
                    rest = &rest[1..];
                }
                let runtime_args = matches!(name.as_str(), "xargs" | "find");
                let start = w.out.commands.len();
                command(
                    rest.to_vec(),
                    env2,
                    op2,
                    Input::Inherit,
                    depth,
                    w,
                    &via2,
                    inner_same_shell,
                )?;
                if runtime_args {
                    if let Some(c) = w.out.commands.get_mut(start) {
                        c.dynamic = true;
                    }
                }
                if let Some(s) = saved {
                    w.restore(s);
                }
            }
            Inner::Script(s) => {
                if let Some(d) = &inner_cwd {
                    let c = change_dir(&w.cwd(), d, false);
                    let saved = w.save();
                    w.cwd = Some(c);
                    opaque |= run_script(&s.text, s.dynamic, depth, w, &via2, false)?;
                    w.restore(saved);
                } else {
                    opaque |= run_script(&s.text, s.dynamic, depth, w, &via2, !inner_same_shell)?;
                }
            }
            Inner::Stdin => match &input {
                Input::Text(t) => {
                    let t = t.clone();
                    opaque |= run_script(&t, false, depth, w, &via2, !inner_same_shell)?;
                }
                _ => opaque = true,
            },
            Inner::Opaque => opaque = true,
        }
    }
    if opaque {
        if let Some(c) = w.out.commands.get_mut(idx) {
            c.opaque = true;
        }
    }
    Ok(output)
}

/// Parses a command another program runs through a shell (a git alias, an ssh
/// `ProxyCommand`, rsync's `-e`); returns whether it is opaque: a value that does not
/// parse (`%h` tokens, a quote the program adds) is code this reading cannot see.
fn foreign_script(v: &str, depth: usize, w: &mut Walker, via: &[String]) -> bool {
    let saved = w.save();
    let n = w.out.commands.len();
    let failed = parse_into(v, depth + 1, w, via).is_err();
    if failed {
        w.out.commands.truncate(n);
    }
    w.restore(saved);
    failed || looks_dynamic(v)
}

fn is_stdin_path(p: &str) -> bool {
    matches!(p, "-" | "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
}

/// What a shell invoked with `args` runs: a `-c` script, a script file, or its stdin.
fn shell_invocation(args: &[Word], w: &mut Walker) -> Vec<Inner> {
    let mut i = 0;
    let mut saw_c = false;
    let mut read_stdin = false;
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
            i += 2;
            continue;
        }
        if let Some(v) = t.strip_prefix("--command=") {
            return vec![Inner::Script(Word {
                text: v.to_owned(),
                dynamic: a.dynamic,
            })];
        }
        if t == "--command" {
            saw_c = true;
            i += 1;
            continue;
        }
        if t.starts_with("--") {
            i += 1;
            continue;
        }
        if t.len() > 1 && (t.starts_with('-') || t.starts_with('+')) {
            let body = &t[1..];
            if t.starts_with('-') && body.contains('c') {
                saw_c = true;
            }
            if body.contains('s') {
                read_stdin = true;
            }
            i += if body.ends_with(['o', 'O']) { 2 } else { 1 };
            continue;
        }
        break;
    }
    if saw_c {
        return match args.get(i) {
            Some(s) => vec![Inner::Script(s.clone())],
            None => Vec::new(),
        };
    }
    match args.get(i) {
        Some(f) if !read_stdin => {
            if is_stdin_path(&f.text) {
                vec![Inner::Stdin]
            } else if f.text == PROCSUB {
                vec![match w.procsub.take() {
                    Some(t) => Inner::Script(Word::lit(t)),
                    None => Inner::Opaque,
                }]
            } else {
                let c = w.cwd();
                w.read(&c, &f.text);
                vec![Inner::Opaque]
            }
        }
        _ => vec![Inner::Stdin],
    }
}

/// Skips a runner's leading options (those in `with_value` take the next word too), then
/// `positional` words; what remains is the command it runs.
fn skip_opts<'a>(args: &'a [Word], with_value: &[&str], positional: usize) -> &'a [Word] {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.text == "--" {
            i += 1;
            break;
        }
        if !a.text.starts_with('-') || a.text == "-" {
            break;
        }
        // `-dmS name`: a cluster ending in an option that takes a value takes the next word.
        let cluster_value = !a.text.starts_with("--")
            && a.text.len() > 2
            && a.text
                .chars()
                .last()
                .is_some_and(|c| with_value.iter().any(|v| v.len() == 2 && v.ends_with(c)));
        i += if with_value.contains(&a.text.as_str()) || cluster_value {
            2
        } else {
            1
        };
    }
    let rest = args.get(i..).unwrap_or(&[]);
    rest.get(positional..).unwrap_or(&[])
}

/// Runners that run the command in their remaining arguments, after their options.
fn simple_runner<'a>(name: &str, args: &'a [Word]) -> Option<&'a [Word]> {
    Some(match name {
        "command" | "builtin" => skip_opts(args, &[], 0),
        "exec" => skip_opts(args, &["-a"], 0),
        "nohup" | "unbuffer" | "chronic" | "setsid" | "caffeinate" | "dbus-launch" | "pkexec"
        | "firejail" | "proxychains" | "proxychains4" | "torsocks" | "rlwrap" | "catchsegv"
        | "valgrind" | "faketime" => {
            skip_opts(args, &["--user", "-w"], usize::from(name == "faketime"))
        }
        "time" => skip_opts(args, &["-f", "-o", "--format", "--output"], 0),
        "nice" => skip_opts(args, &["-n", "--adjustment"], 0),
        "ionice" => skip_opts(
            args,
            &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
            0,
        ),
        "stdbuf" => skip_opts(args, &["-i", "-o", "-e"], 0),
        "timeout" => skip_opts(args, &["-s", "-k", "--signal", "--kill-after"], 1),
        "fakeroot" => skip_opts(args, &["-l", "-s", "-i", "--lib", "--faked"], 0),
        "strace" | "ltrace" => skip_opts(
            args,
            &[
                "-o", "-e", "-p", "-s", "-u", "-E", "-P", "-I", "-b", "-a", "-S", "-X", "-O", "-U",
                "-n", "-l",
            ],
            0,
        ),
        "taskset" => {
            if args.iter().any(|a| a.text == "-p" || a.text == "--pid") {
                &[]
            } else {
                skip_opts(args, &[], 1)
            }
        }
        "chrt" => skip_opts(args, &["-T", "-P", "-D"], 1),
        "numactl" => skip_opts(
            args,
            &[
                "-C",
                "-N",
                "-m",
                "-p",
                "-i",
                "--physcpubind",
                "--cpunodebind",
                "--membind",
                "--preferred",
                "--interleave",
            ],
            0,
        ),
        "unshare" | "nsenter" => skip_opts(
            args,
            &[
                "-S", "-G", "-R", "-w", "-t", "--setuid", "--setgid", "--root", "--wd", "--target",
            ],
            0,
        ),
        "chroot" => skip_opts(args, &["--userspec", "--groups"], 1),
        "systemd-run" => skip_opts(
            args,
            &[
                "-u",
                "--unit",
                "-p",
                "--property",
                "-M",
                "--machine",
                "-E",
                "--setenv",
                "--working-directory",
                "--uid",
                "--gid",
                "--nice",
                "--slice",
                "-H",
                "--host",
                "--description",
            ],
            0,
        ),
        "xvfb-run" => skip_opts(
            args,
            &[
                "-s",
                "-n",
                "-f",
                "-e",
                "-p",
                "-w",
                "--server-args",
                "--server-num",
                "--auth-file",
                "--error-file",
            ],
            0,
        ),
        _ => return None,
    })
}

/// `xargs`'s command, and its replacement string (`-I R`, `-i`, `--replace`) if any.
fn xargs_command(args: &[Word]) -> (&[Word], Option<String>) {
    let mut repl = None;
    for a in args {
        let t = a.text.as_str();
        if !t.starts_with('-') {
            break;
        }
        if let Some(r) = t.strip_prefix("-I").filter(|r| !r.is_empty()) {
            repl = Some(r.to_owned());
        } else if t == "-i" || t == "--replace" {
            repl = Some("{}".into());
        } else if let Some(r) = t
            .strip_prefix("--replace=")
            .or_else(|| t.strip_prefix("-i").filter(|r| !r.is_empty()))
        {
            repl = Some(r.to_owned());
        }
    }
    if let Some(p) = args.iter().position(|a| a.text == "-I") {
        repl = args.get(p + 1).map(|a| a.text.clone());
    }
    let rest = skip_opts(
        args,
        &[
            "-I",
            "-n",
            "-P",
            "-d",
            "-L",
            "-l",
            "-a",
            "-E",
            "-e",
            "-s",
            "--max-args",
            "--max-procs",
            "--delimiter",
            "--arg-file",
            "--max-lines",
            "--eof",
            "--max-chars",
            "--process-slot-var",
        ],
        0,
    );
    (rest, repl)
}

/// What `tmux` runs: the shell command of `new-session`, `new-window`, `split-window`,
/// `respawn-*`, `run-shell` and `if-shell`, the keys of `send-keys`, and `-c` at the top.
fn tmux_runs(args: &[Word]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.text.as_str() {
            "-c" => {
                if let Some(s) = args.get(i + 1) {
                    out.push(Inner::Script(s.clone()));
                }
                return out;
            }
            "-L" | "-S" | "-f" | "-T" => i += 2,
            t if t.starts_with('-') => i += 1,
            _ => break,
        }
    }
    // Commands may be chained with `;` (a word `\;`) in one tmux invocation.
    for part in args[i.min(args.len())..].split(|a| a.text == ";") {
        let Some((sub, rest)) = part.split_first() else {
            continue;
        };
        let with_value: &[&str] = &[
            "-s", "-n", "-c", "-t", "-x", "-y", "-e", "-F", "-l", "-p", "-f", "-N", "-d", "-T",
            "-w", "-h", "-E",
        ];
        let flags_only = |r: &[Word]| -> usize {
            let mut j = 0;
            while let Some(a) = r.get(j) {
                if !a.text.starts_with('-') || a.text == "-" {
                    break;
                }
                if a.text == "--" {
                    j += 1;
                    break;
                }
                j += if with_value.contains(&a.text.as_str()) && a.text != "-d" {
                    2
                } else {
                    1
                };
            }
            j
        };
        match sub.text.as_str() {
            "new-session" | "new" | "new-window" | "neww" | "split-window" | "splitw"
            | "respawn-pane" | "respawnp" | "respawn-window" | "respawnw" | "run-shell" | "run"
            | "send-keys" | "send" | "display-popup" | "popup" => {
                let j = flags_only(rest);
                let cmd = &rest[j.min(rest.len())..];
                if !cmd.is_empty() {
                    out.push(Inner::Script(Word {
                        text: cmd
                            .iter()
                            .map(|x| x.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                        dynamic: cmd.iter().any(|x| x.dynamic),
                    }));
                }
            }
            "if-shell" | "if" => {
                let j = flags_only(rest);
                for s in rest[j.min(rest.len())..].iter() {
                    out.push(Inner::Script(s.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

/// `env`'s arguments: the command it runs, the string of `-S`, the directory of `-C`,
/// and its assignments.
#[allow(clippy::type_complexity)]
fn env_args(args: &[Word]) -> (Vec<Word>, Option<Word>, Option<Word>, Vec<(String, String)>) {
    let mut i = 0;
    let mut split = None;
    let mut dir = None;
    let mut assigns = Vec::new();
    while let Some(a) = args.get(i) {
        let t = a.text.as_str();
        match t {
            "--" => {
                i += 1;
                break;
            }
            "-u" | "--unset" => i += 2,
            "-C" | "--chdir" => {
                dir = args.get(i + 1).cloned();
                i += 2
            }
            "-S" | "--split-string" => {
                split = args.get(i + 1).cloned();
                i += 2;
            }
            s if s.starts_with("--split-string=") => {
                split = Some(Word {
                    text: s["--split-string=".len()..].to_owned(),
                    dynamic: a.dynamic,
                });
                i += 1;
            }
            s if s.starts_with("--chdir=") => {
                dir = Some(Word {
                    text: s["--chdir=".len()..].to_owned(),
                    dynamic: a.dynamic,
                });
                i += 1;
            }
            s if s.starts_with('-') && !s.starts_with("--") && s.len() > 1 => {
                // A cluster: `-iS 'cmd'`, `-C/dir`, `-uNAME`.
                let body = &s[1..];
                if let Some(p) = body.find(['S', 'C', 'u']) {
                    let rest = &body[p + 1..];
                    let val = if rest.is_empty() {
                        i += 1;
                        args.get(i).cloned()
                    } else {
                        Some(Word {
                            text: rest.to_owned(),
                            dynamic: a.dynamic,
                        })
                    };
                    match &body[p..p + 1] {
                        "S" => split = val,
                        "C" => dir = val,
                        _ => {}
                    }
                }
                i += 1;
            }
            s if s.starts_with("--") => i += 1,
            s => match assignment(s) {
                Some((n, v)) => {
                    assigns.push((n.to_owned(), v.to_owned()));
                    i += 1;
                }
                None => break,
            },
        }
    }
    (args.get(i..).unwrap_or(&[]).to_vec(), split, dir, assigns)
}

/// Git's global options (before the subcommand).
struct GitGlobals {
    /// How many arguments they take.
    skip: usize,
    /// `-C` directories, joined.
    dir: Option<String>,
    /// `-c k=v` and `--config-env=k=ENV` entries.
    config: Vec<String>,
}

/// A config entry `key=value` with its section and variable name lower-cased (git's
/// subsection, between them, is case-sensitive).
fn config_entry(e: &str) -> String {
    let (k, v) = e.split_once('=').unwrap_or((e, "true"));
    let key = match (k.find('.'), k.rfind('.')) {
        (Some(a), Some(b)) if a < b => format!(
            "{}{}{}",
            k[..a].to_lowercase(),
            &k[a..b],
            k[b..].to_lowercase()
        ),
        _ => k.to_lowercase(),
    };
    format!("{key}={v}")
}

fn git_globals(args: &[String]) -> GitGlobals {
    let mut g = GitGlobals {
        skip: 0,
        dir: None,
        config: Vec::new(),
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-C" => {
                if let Some(d) = args.get(i + 1) {
                    g.dir = Some(match &g.dir {
                        Some(prev) if !d.starts_with('/') => format!("{prev}/{d}"),
                        _ => d.clone(),
                    });
                }
                i += 2;
            }
            "-c" => {
                if let Some(e) = args.get(i + 1) {
                    g.config.push(config_entry(e));
                }
                i += 2;
            }
            "--config-env" => {
                if let Some(e) = args.get(i + 1) {
                    let (k, env) = e.split_once('=').unwrap_or((e, ""));
                    g.config.push(config_entry(&format!("{k}=${env}")));
                }
                i += 2;
            }
            s if s.starts_with("--config-env=") => {
                let e = &s["--config-env=".len()..];
                let (k, env) = e.split_once('=').unwrap_or((e, ""));
                g.config.push(config_entry(&format!("{k}=${env}")));
                i += 1;
            }
            "--git-dir" | "--work-tree" | "--namespace" | "--super-prefix" | "--exec-path"
            | "--list-cmds" | "--attr-source" => i += 2,
            s if s.starts_with("-C") && s.len() > 2 => {
                g.dir = Some(s[2..].to_owned());
                i += 1;
            }
            s if s.starts_with("-c") && s.len() > 2 && !s.starts_with("--") => {
                g.config.push(config_entry(&s[2..]));
                i += 1;
            }
            s if s.starts_with('-') && s.len() > 1 => i += 1,
            _ => break,
        }
    }
    g.skip = i.min(args.len());
    g
}

/// Whether git runs the value of config key `k` (lower-cased) as a command.
fn config_runs_code(k: &str) -> bool {
    let last = k.rsplit('.').next().unwrap_or(k);
    k.starts_with("alias.")
        || k.starts_with("pager.")
        || matches!(
            k,
            "core.pager"
                | "core.editor"
                | "core.sshcommand"
                | "core.fsmonitor"
                | "core.askpass"
                | "sequence.editor"
                | "diff.external"
                | "credential.helper"
                | "gpg.program"
                | "gpg.ssh.program"
                | "gpg.x509.program"
                | "uploadpack.packobjectshook"
                | "core.hookspath"
                | "core.gitproxy"
                | "web.browser"
                | "instaweb.httpd"
                | "sendemail.tocmd"
                | "sendemail.cccmd"
                | "sendemail.sendmailcmd"
        )
        || (k.starts_with("filter.") && matches!(last, "clean" | "smudge" | "process"))
        || (k.starts_with("diff.") && matches!(last, "textconv" | "command"))
        || (k.starts_with("merge.") && last == "driver")
        || (k.starts_with("credential.") && last == "helper")
        || (k.starts_with("remote.") && matches!(last, "uploadpack" | "receivepack"))
}

/// What a git subcommand runs: `submodule foreach`, `rebase -x`, `bisect run`,
/// `filter-branch --*-filter`.
fn git_runs(norm: &[String], words: &[Word]) -> Vec<Inner> {
    let mut out = Vec::new();
    let Some(sub) = norm.first() else { return out };
    let script = |s: &str| {
        Inner::Script(Word {
            text: s.to_owned(),
            dynamic: looks_dynamic(s),
        })
    };
    match sub.as_str() {
        "submodule" => {
            if let Some(p) = words.iter().position(|w| w.text == "foreach") {
                let rest: Vec<&Word> = words[p + 1..]
                    .iter()
                    .skip_while(|w| {
                        matches!(w.text.as_str(), "--recursive" | "-q" | "--quiet" | "--")
                    })
                    .collect();
                if !rest.is_empty() {
                    out.push(Inner::Script(Word {
                        text: rest
                            .iter()
                            .map(|w| w.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                        dynamic: rest.iter().any(|w| w.dynamic),
                    }));
                }
            }
        }
        "rebase" => {
            let mut i = 1;
            while let Some(a) = norm.get(i) {
                if let Some(v) = a.strip_prefix("--exec=") {
                    out.push(script(v));
                } else if a == "--exec"
                    || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('x'))
                {
                    if let Some(v) = norm.get(i + 1) {
                        out.push(script(v));
                        i += 1;
                    }
                }
                i += 1;
            }
        }
        "bisect" if norm.get(1).map(String::as_str) == Some("run") && words.len() > 2 => {
            out.push(Inner::Cmd(words[2..].to_vec()));
        }
        "filter-branch" => {
            let mut i = 1;
            while let Some(a) = norm.get(i) {
                if a.starts_with("--") && a.contains("-filter") {
                    match a.split_once('=') {
                        Some((_, v)) => out.push(script(v)),
                        None => {
                            if let Some(v) = norm.get(i + 1) {
                                if a != "--subdirectory-filter" {
                                    out.push(script(v));
                                }
                                i += 1;
                            }
                        }
                    }
                }
                i += 1;
            }
        }
        _ => {}
    }
    out
}

/// Records the files command `idx` reads and writes, resolved against `cwd`.
fn files(idx: usize, cwd: &Word, w: &mut Walker) {
    let cmd = &w.out.commands[idx];
    let name = cmd.name.as_str();
    let args = &cmd.args;
    let spec = options::spec_for(name, args);
    let ops: Vec<&str> = options::operands(spec, args);
    let has = |c: &Command, f: &str| c.has_option(f);
    let mut writes: Vec<String> = Vec::new();
    let mut reads: Vec<String> = Vec::new();
    match name {
        "tee" | "rm" | "unlink" | "rmdir" | "shred" | "touch" | "mkdir" | "truncate"
        | "fallocate" | "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "zstd"
        | "mkfifo" | "mknod" | "sponge" | "ed" | "red" | "ex" | "wipefs" | "mkswap"
        | "blkdiscard" | "sfdisk" | "fdisk" | "parted" | "srm" | "setfacl" => {
            writes.extend(ops.iter().map(|s| s.to_string()));
        }
        n if n.starts_with("mkfs") || n == "mke2fs" => {
            writes.extend(ops.iter().map(|s| s.to_string()))
        }
        "chmod" | "chown" | "chgrp" | "chattr" => {
            let skip = usize::from(!cmd.args.iter().any(|a| a.starts_with("--reference")));
            writes.extend(ops.iter().skip(skip).map(|s| s.to_string()));
        }
        "sed" | "perl" | "ruby" if cmd.options().any(|o| in_place(o, name)) => {
            let mut scripted = false;
            let mut operands = Vec::new();
            let mut it = cmd.args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "-e" | "-f" | "--expression" | "--file" | "-E" => {
                        scripted = true;
                        it.next();
                    }
                    s if s.starts_with("--expression=") || s.starts_with("--file=") => {
                        scripted = true
                    }
                    s if s.starts_with('-') && s.len() > 1 => {
                        if name != "sed" && s[1..].contains(['e', 'E']) {
                            scripted = true;
                            it.next();
                        }
                    }
                    s => operands.push(s.to_owned()),
                }
            }
            writes.extend(operands.into_iter().skip(usize::from(!scripted)));
        }
        "awk" | "gawk" => {
            let inplace = cmd
                .args
                .windows(2)
                .any(|p| p[0] == "-i" && p[1] == "inplace")
                || cmd
                    .args
                    .iter()
                    .any(|a| a == "-iinplace" || a == "--include=inplace");
            let mut files_ = Vec::new();
            let mut scripted = false;
            let mut it = cmd.args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "-f" | "--file" | "-e" | "--source" => {
                        scripted = true;
                        it.next();
                    }
                    "-v" | "-F" | "-i" | "--include" | "--assign" | "--field-separator" => {
                        it.next();
                    }
                    s if s.starts_with('-') && s.len() > 1 => {}
                    s => files_.push(s.to_owned()),
                }
            }
            let f: Vec<String> = files_
                .into_iter()
                .skip(usize::from(!scripted))
                .filter(|f| assignment(f).is_none())
                .collect();
            if inplace {
                writes.extend(f.iter().cloned());
            }
            reads.extend(f);
        }
        "sort" => {
            if let Some(o) = options::value_of(args, Some('o'), Some("output")) {
                writes.push(o.to_owned());
            }
            reads.extend(ops.iter().map(|s| s.to_string()));
        }
        "uniq" => {
            if let Some(o) = ops.get(1) {
                writes.push(o.to_string());
            }
            reads.extend(ops.first().map(|s| s.to_string()));
        }
        "crontab" => {
            if !has(cmd, "-l") {
                writes.push("/var/spool/cron/crontabs".into());
            }
            reads.extend(ops.iter().map(|s| s.to_string()));
        }
        "dd" => {
            for a in args {
                if let Some(f) = a.strip_prefix("of=") {
                    writes.push(f.to_owned());
                }
                if let Some(f) = a.strip_prefix("if=") {
                    reads.push(f.to_owned());
                }
            }
        }
        "cp" | "mv" | "install" | "ln" | "rsync" | "scp" => {
            let target = options::value_of(args, Some('t'), Some("target-directory"));
            if name == "install" && has(cmd, "-d") {
                writes.extend(ops.iter().map(|s| s.to_string()));
            } else if let Some(t) = target {
                writes.push(t.to_owned());
                reads.extend(ops.iter().map(|s| s.to_string()));
                if name == "mv" {
                    writes.extend(ops.iter().map(|s| s.to_string()));
                }
            } else if ops.len() >= 2 {
                let (last, sources) = ops.split_last().unwrap_or((&ops[0], &[]));
                writes.push(last.to_string());
                if name != "ln" {
                    reads.extend(sources.iter().map(|s| s.to_string()));
                }
                if name == "mv" {
                    writes.extend(sources.iter().map(|s| s.to_string()));
                }
            }
        }
        "tar" | "bsdtar" | "gtar" => {
            let extract = has(cmd, "-x") || has(cmd, "--extract") || has(cmd, "--get");
            let create = has(cmd, "-c")
                || has(cmd, "--create")
                || has(cmd, "-r")
                || has(cmd, "--append")
                || has(cmd, "-u")
                || has(cmd, "--update");
            let file = options::value_of(args, Some('f'), Some("file"));
            let dir = options::value_of(args, Some('C'), Some("directory"));
            if extract {
                writes.push(match dir {
                    Some(d) => resolve(cwd, d),
                    None => ".".into(),
                });
                if has(cmd, "-P") || has(cmd, "--absolute-names") {
                    writes.push("/".into());
                }
                reads.extend(file.map(str::to_owned));
            } else if create {
                writes.extend(file.map(str::to_owned));
                let base = dir.map(|d| Word::lit(resolve(cwd, d)));
                for o in &ops {
                    reads.push(match &base {
                        Some(b) => resolve(b, o),
                        None => o.to_string(),
                    });
                }
            } else {
                reads.extend(file.map(str::to_owned));
            }
        }
        "unzip" => {
            writes.push(
                options::value_of(args, Some('d'), None)
                    .unwrap_or(".")
                    .to_owned(),
            );
            reads.extend(ops.first().map(|s| s.to_string()));
        }
        "curl" => {
            for (s, l) in [
                (Some('o'), "output"),
                (Some('D'), "dump-header"),
                (Some('c'), "cookie-jar"),
                (None, "trace"),
                (None, "trace-ascii"),
                (None, "stderr"),
                (None, "output-dir"),
            ] {
                if let Some(v) = options::value_of(args, s, Some(l)) {
                    writes.push(v.to_owned());
                }
            }
            if has(cmd, "-O") || has(cmd, "--remote-name") || has(cmd, "--remote-name-all") {
                writes.push(".".into());
            }
            for (s, l) in [
                (Some('T'), "upload-file"),
                (Some('K'), "config"),
                (None, "netrc-file"),
            ] {
                if let Some(v) = options::value_of(args, s, Some(l)) {
                    reads.push(v.to_owned());
                }
            }
            let mut i = 0;
            while let Some(a) = args.get(i) {
                let value =
                    if let Some((n, v)) = a.strip_prefix("--").and_then(|r| r.split_once('=')) {
                        (n.starts_with("data")
                            || n.starts_with("form")
                            || n == "json"
                            || n == "variable")
                            .then_some(v)
                    } else if matches!(
                        a.as_str(),
                        "-d" | "-F"
                            | "--data"
                            | "--data-binary"
                            | "--data-raw"
                            | "--data-ascii"
                            | "--data-urlencode"
                            | "--form"
                            | "--json"
                            | "--variable"
                    ) {
                        i += 1;
                        args.get(i).map(String::as_str)
                    } else {
                        None
                    };
                if let Some(v) = value {
                    let v = v.rsplit_once(['=', '@']).map_or(v, |_| v);
                    if let Some(p) = v.find(['@', '<']) {
                        let f = v[p + 1..].split(';').next().unwrap_or("");
                        if !f.is_empty() && a != "--data-raw" {
                            reads.push(f.to_owned());
                        }
                    }
                }
                i += 1;
            }
        }
        "wget" => {
            for (s, l) in [
                ('O', "output-document"),
                ('P', "directory-prefix"),
                ('o', "output-file"),
                ('a', "append-output"),
            ] {
                if let Some(v) = options::value_of(args, Some(s), Some(l)) {
                    writes.push(v.to_owned());
                }
            }
            if !args.iter().any(|a| {
                a == "-O"
                    || a.starts_with("--output-document")
                    || a == "-P"
                    || a.starts_with("--directory-prefix")
            }) {
                writes.push(".".into());
            }
            for l in ["post-file", "body-file", "input-file"] {
                if let Some(v) = options::value_of(args, None, Some(l)) {
                    reads.push(v.to_owned());
                }
            }
            if let Some(v) = options::value_of(args, Some('i'), None) {
                reads.push(v.to_owned());
            }
        }
        "strace" | "ltrace" | "time" => {
            if let Some(v) = options::value_of(args, Some('o'), Some("output")) {
                writes.push(v.to_owned());
            }
        }
        "git" => git_files(cmd, &ops, &mut writes),
        "find" => {
            let roots: Vec<String> = cmd
                .args
                .iter()
                .take_while(|a| !a.starts_with('-') && *a != "(" && *a != "!")
                .cloned()
                .collect();
            let roots = if roots.is_empty() {
                vec![".".to_owned()]
            } else {
                roots
            };
            if cmd.args.iter().any(|a| a == "-delete") {
                writes.extend(roots.iter().cloned());
            }
            for (i, a) in cmd.args.iter().enumerate() {
                if matches!(a.as_str(), "-fprint" | "-fprint0" | "-fprintf" | "-fls") {
                    writes.extend(cmd.args.get(i + 1).cloned());
                }
            }
        }
        "cat" | "tac" | "less" | "more" | "nl" | "od" | "xxd" | "hexdump" | "strings"
        | "base64" | "base32" | "basenc" | "wc" | "md5sum" | "sha1sum" | "sha224sum"
        | "sha256sum" | "sha384sum" | "sha512sum" | "b2sum" | "cksum" | "sum" | "bat"
        | "batcat" | "view" | "diff" | "cmp" | "comm" | "paste" | "join" | "cut" | "fold"
        | "fmt" | "pr" | "expand" | "column" | "rev" | "shuf" | "zcat" | "bzcat" | "xzcat"
        | "zless" | "gpg" | "iconv" | "dos2unix" | "openssl" | "file" | "xclip" | "pbcopy"
        | "nc" | "netcat" | "mail" | "head" | "tail" => {
            if name == "openssl" {
                for (i, a) in cmd.args.iter().enumerate() {
                    if matches!(
                        a.as_str(),
                        "-in" | "-inkey" | "-key" | "-cert" | "-kfile" | "-pass"
                    ) {
                        reads.extend(
                            cmd.args
                                .get(i + 1)
                                .map(|v| v.strip_prefix("file:").unwrap_or(v).to_owned()),
                        );
                    }
                }
            } else {
                reads.extend(ops.iter().map(|s| s.to_string()));
            }
        }
        "grep" | "egrep" | "fgrep" | "rg" | "ag" | "ack" | "jq" | "yq" => {
            let explicit = cmd.args.iter().any(|a| {
                matches!(a.as_str(), "-e" | "-f" | "--regexp" | "--file")
                    || a.starts_with("--regexp=")
                    || a.starts_with("--file=")
            });
            reads.extend(
                ops.iter()
                    .skip(usize::from(!explicit))
                    .map(|s| s.to_string()),
            );
            if let Some(f) = options::value_of(args, Some('f'), Some("file")) {
                reads.push(f.to_owned());
            }
        }
        "ssh" | "sftp" => {
            if let Some(f) = options::value_of(args, Some('i'), None) {
                reads.push(f.to_owned());
            }
            if let Some(f) = options::value_of(args, Some('F'), None) {
                reads.push(f.to_owned());
            }
        }
        _ => {}
    }
    if name == "scp" {
        if let Some(f) = options::value_of(args, Some('i'), None) {
            reads.push(f.to_owned());
        }
    }
    if name == "sed" && !cmd.options().any(|o| in_place(o, name)) {
        let explicit = cmd.args.iter().any(|a| {
            matches!(a.as_str(), "-e" | "-f" | "--expression" | "--file")
                || a.starts_with("--expression=")
                || a.starts_with("--file=")
        });
        reads.extend(
            ops.iter()
                .skip(usize::from(!explicit))
                .map(|s| s.to_string()),
        );
    }
    for f in writes {
        w.write(cwd, &f);
    }
    for f in reads {
        w.read(cwd, &f);
    }
}

/// Files git writes outside the working tree's tracked content: configuration files.
fn git_files(cmd: &Command, ops: &[&str], writes: &mut Vec<String>) {
    if cmd.args.first().map(String::as_str) != Some("config") {
        return;
    }
    let a = &cmd.args;
    let setting = ops.len() >= 3
        || matches!(
            ops.get(1).copied(),
            Some("set" | "unset" | "rename-section" | "remove-section" | "edit")
        )
        || a.iter().any(|x| {
            matches!(
                x.as_str(),
                "--add"
                    | "--unset"
                    | "--unset-all"
                    | "--replace-all"
                    | "--rename-section"
                    | "--remove-section"
                    | "--edit"
                    | "-e"
            )
        });
    if !setting {
        return;
    }
    let target = if a.iter().any(|x| x == "--global") {
        "~/.gitconfig".to_owned()
    } else if a.iter().any(|x| x == "--system") {
        "/etc/gitconfig".to_owned()
    } else if let Some(f) = options::value_of(a, Some('f'), Some("file")) {
        f.to_owned()
    } else {
        ".git/config".to_owned()
    };
    writes.push(target);
}

fn in_place(opt: &str, program: &str) -> bool {
    if opt.starts_with("--in-place") {
        return true;
    }
    if opt.starts_with("--") {
        return false;
    }
    // `-i`, `-i.bak`, `-ni`, `-pi`: an `i` among the short flags.
    let flags = &opt[1..];
    match program {
        "sed" => {
            flags.starts_with('i')
                || flags
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic() && *c != 'e')
                    .any(|c| c == 'i')
        }
        _ => flags
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() && *c != 'e')
            .any(|c| c == 'i'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        parse(src)
            .unwrap()
            .commands
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    fn invokes(src: &str, pat: &str) -> bool {
        parse(src).unwrap().invokes(&Pattern::new(pat).unwrap())
    }

    #[test]
    fn splits_on_operators_and_substitutions() {
        assert_eq!(
            names("ls; pwd && echo a || cat b | wc -l & true"),
            ["ls", "pwd", "echo", "cat", "wc", "true"]
        );
        assert_eq!(
            names("echo $(git status) `whoami`"),
            ["git", "whoami", "echo"]
        );
        assert_eq!(names("(cd a; rm -rf b) | tee log"), ["cd", "rm", "tee"]);
        assert_eq!(names("if true; then rm -rf x; fi"), ["true", "rm"]);
        assert_eq!(names("for f in $(ls); do rm $f; done"), ["ls", "rm"]);
        assert_eq!(names("X=1 Y=2 make"), ["make"]);
    }

    #[test]
    fn sees_through_wrappers() {
        assert!(invokes("bash -c 'git reset --hard'", "git reset --hard"));
        assert!(invokes("sh -lc \"git push -f\"", "git push -f"));
        assert!(invokes("env X=1 git reset --hard HEAD", "git reset --hard"));
        assert!(invokes("sudo -u root rm -rf /", "rm -r -f"));
        assert!(invokes("nohup timeout 5 git clean -fdx", "git clean -f"));
        assert!(invokes("eval 'git push --force'", "git push --force"));
        assert!(invokes("env -S 'git push --force'", "git push --force"));
        assert!(invokes("echo x | xargs -n1 rm -rf", "rm -r -f"));
        assert!(invokes(
            "bash -c \"bash -c 'git reset --hard'\"",
            "git reset --hard"
        ));
    }

    #[test]
    fn sees_through_disguises() {
        assert!(invokes("git -C dir reset --hard", "git reset --hard"));
        assert!(invokes(
            "git -c core.x=1 --no-pager reset   --hard",
            "git reset --hard"
        ));
        assert!(invokes("'git' \"reset\" --\"hard\"", "git reset --hard"));
        assert!(invokes("/usr/bin/git reset --hard", "git reset --hard"));
        assert!(invokes("\\git reset --hard", "git reset --hard"));
        assert!(invokes(
            "git push origin main --force-with-lease",
            "git push --force|--force-with-lease|-f"
        ));
        assert!(!invokes(
            "git push origin main",
            "git push --force|--force-with-lease|-f"
        ));
        assert!(!invokes("git push --force-with-lease", "git push --force"));
        assert!(invokes("git worktree prune", "git worktree remove|prune"));
        assert!(!invokes("git worktree list", "git worktree remove|prune"));
        assert!(!invokes("echo git reset --hard", "git reset --hard"));
        assert!(invokes("rm -fr x", "rm -r -f"));
        assert!(invokes("rm -r -f x", "rm -r -f"));
        assert!(!invokes("rm -r x", "rm -r -f"));
    }

    #[test]
    fn collects_writes() {
        let w = |s: &str| parse(s).unwrap().writes;
        assert_eq!(w("echo a > out.txt 2>&1"), ["out.txt"]);
        assert_eq!(w("echo a >> log 2>/dev/null"), ["log"]);
        assert_eq!(w("cat x | tee -a a b"), ["a", "b"]);
        assert_eq!(w("sed -i 's/a/b/' f.txt"), ["f.txt"]);
        assert_eq!(w("sed -i.bak -e s/a/b/ f.txt g"), ["f.txt", "g"]);
        assert_eq!(w("sed 's/a/b/' f.txt"), Vec::<String>::new());
        assert_eq!(w("cp a b dest/"), ["dest/"]);
        assert_eq!(w("dd if=/dev/zero of=disk.img"), ["disk.img"]);
        // The substitution in the body runs `rm -rf /`, which writes `/`.
        assert_eq!(w("cat <<EOF > f\nhello $(rm -rf /)\nEOF"), ["/", "f"]);
        assert_eq!(
            names("cat <<EOF > f\nhello $(rm -rf /)\nEOF"),
            ["rm", "cat"]
        );
        assert_eq!(names("cat <<'EOF'\n$(rm -rf /)\nEOF"), ["cat"]);
        assert_eq!(w("echo hi &> all.log"), ["all.log"]);
    }

    #[test]
    fn rejects_what_it_cannot_parse() {
        assert!(matches!(
            parse("echo 'unterminated"),
            Err(ShellError::Syntax(_))
        ));
        let mut deep = "true".to_string();
        for _ in 0..12 {
            deep = format!("echo $({deep})");
        }
        assert_eq!(parse(&deep), Err(ShellError::TooDeep));
        let mut quoted = "true".to_string();
        for _ in 0..5 {
            quoted = format!("bash -c {}", shell_quote(&quoted));
        }
        assert!(parse(&quoted).is_ok());
        assert!(matches!(
            parse(&"a".repeat(MAX_COMMAND_BYTES + 1)),
            Err(ShellError::TooLong(_))
        ));
    }

    fn shell_quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', "'\\''"))
    }

    proptest::proptest! {
        /// The fast tokenizer splits exactly as brush-parser does wherever it answers.
        #[test]
        fn fast_tokens_agree_with_brush(src in "[a-z0-9 ;|&<>=./_-]{0,40}") {
            if let Some(fast) = fast_tokens(&src) {
                // brush rejects some operator soups (`a |`); ours then just splits them.
                if let Ok(full) = brush_tokens(&src) {
                    proptest::prop_assert_eq!(fast, full, "{:?}", src);
                }
            }
        }

        /// Parsing never panics, whatever the input.
        #[test]
        fn parse_never_panics(src in "\\PC{0,60}") {
            let _ = parse(&src);
        }
    }

    #[test]
    fn fast_path_is_taken_for_plain_commands() {
        assert!(fast_tokens("git -C ../x push --force origin main").is_some());
        assert!(fast_tokens("cargo test 2>&1 > /repo/log").is_some());
        assert!(fast_tokens("echo 'q'").is_none());
        assert!(fast_tokens("cat <<EOF").is_none());
        assert!(fast_tokens("echo $(x)").is_none());
    }

    #[test]
    fn hostile_input_is_refused_quickly() {
        // Found by fuzzing: brush-parser panics on a here-document in a substitution...
        assert!(matches!(
            parse("$($(<<EOF)\nEOF"),
            Err(ShellError::Syntax(_))
        ));
        // ...and takes exponential time in parenthesis depth.
        let deep = format!("<<E\n$({}\nE", "(".repeat(22));
        let t = std::time::Instant::now();
        assert_eq!(parse(&deep), Err(ShellError::TooDeep));
        assert!(t.elapsed() < std::time::Duration::from_millis(50));
        assert!(parse(&format!("echo {}x{}", "(".repeat(3), ")".repeat(3))).is_ok());
        // ...loops for ever on an empty quoted here-document delimiter...
        for s in ["<<'' ", "cat <<\"\"\t", "cat <<- ''"] {
            assert!(matches!(parse(s), Err(ShellError::Syntax(_))), "{s:?}");
        }
        assert!(parse("cat <<< 'x'").is_ok());
        // ...and panics parsing a tilde prefix with a number too large for it.
        assert!(matches!(
            parse("cd ~+99999999999999999999999"),
            Err(ShellError::Syntax(_))
        ));
        assert!(parse("cat <<'EOF'\nx\nEOF").is_ok());
    }

    #[test]
    fn expansions_are_scanned_without_recursing_for_ever() {
        // Found by fuzzing: these overflowed the stack.
        assert_eq!(names("echo $((1+2))"), ["echo"]);
        assert_eq!(names("echo \"$((1))\""), ["echo"]);
        assert_eq!(names("x=${a:-$(b)}"), ["b"]);
        assert_eq!(
            names("echo $(( $(git reset --hard) + 1 ))"),
            ["git", "echo"]
        );
        assert!(
            parse("echo ${a:-${b:-${c:-${d:-${e:-${f:-${g:-${h:-${i:-${j:-$(k)}}}}}}}}}}").is_err()
        );
    }

    #[test]
    fn patterns_validate() {
        assert!(Pattern::new("").is_err());
        assert!(Pattern::new("git push|-f").is_err());
        assert!(Pattern::new("* -rf")
            .unwrap()
            .matches(&parse("rm -rf x").unwrap().commands[0]));
    }
}
