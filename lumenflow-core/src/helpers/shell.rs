//! Shell commands: what a command string really runs.
//!
//! [`parse`] splits a shell command line into the simple commands it runs, seeing
//! through `;`, `&&`, `||`, `|`, `&`, subshells, `$(...)`, backticks, `bash -c '...'`,
//! `eval`, and wrappers such as `env X=1`, `sudo`, `nohup`, `timeout` and `xargs`. Git's
//! global options (`-C dir`, `-c k=v`, `--git-dir=...`) are dropped so that
//! `git -C dir reset --hard` reads as `git reset --hard`. Files written by redirection,
//! `tee`, `sed -i` and friends are collected in [`Parsed::writes`].
//!
//! Tokenizing and word parsing (quotes, escapes, nested substitutions, here-documents)
//! are done by `brush-parser`; this module only interprets the tokens.
//!
//! Anything it cannot parse (an unterminated quote, nesting deeper than
//! [`MAX_NESTING`]) is an error, so a rule using it fails closed.

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

/// One simple command found in a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The program's base name (`/usr/bin/git` → `git`).
    pub name: String,
    /// The program as written, unquoted.
    pub program: String,
    /// The arguments after the program (for git: without its global options).
    pub args: Vec<String>,
}

impl Command {
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
    /// Files the command line writes to: redirection targets (`>`, `>>`, `&>`, `>|`,
    /// `<>`), `tee` files, `sed -i`/`perl -i` files, `dd of=`, and the destination of
    /// `cp`, `mv`, `install` and `ln`. `/dev/null`, `/dev/stdout` and `/dev/stderr` are
    /// left out.
    pub writes: Vec<String>,
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
    let mut out = Parsed::default();
    parse_into(src, 0, &mut out)?;
    Ok(out)
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

fn parse_into(src: &str, depth: usize, out: &mut Parsed) -> Result<(), ShellError> {
    if depth > MAX_NESTING {
        return Err(ShellError::TooDeep);
    }
    let tokens = tokenize(src)?;
    let word = |i: usize| tokens.get(i).filter(|t| !t.op).map(|t| t.text.as_ref());
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let tok = &tokens[i];
        if !tok.op {
            let text = expand_word(&tok.text, depth, out)?;
            if words.is_empty() && is_reserved(&text) {
                if matches!(text.as_str(), "for" | "select" | "case") {
                    // Skip the loop header up to its separator; its words were expanded above.
                    i += 1;
                    while let Some(w) = word(i) {
                        expand_word(w, depth, out)?;
                        i += 1;
                    }
                    continue;
                }
            } else {
                words.push(text);
            }
            i += 1;
            continue;
        }
        let op = tok.text.as_ref();
        let Some(kind) = redirect_kind(op) else {
            flush(std::mem::take(&mut words), depth, out)?;
            i += 1;
            continue;
        };
        // An IO number (`2>`) directly before the operator belongs to it.
        if let (Some(prev), Some(last)) =
            (i.checked_sub(1).and_then(|j| tokens.get(j)), words.last())
        {
            if !prev.op
                && prev.end == tok.start
                && prev.text.chars().all(|c| c.is_ascii_digit())
                && *last == prev.text
            {
                words.pop();
            }
        }
        match kind {
            Redirect::HereDoc => {
                // Delimiter, body, closing delimiter.
                let quoted = word(i + 1).is_some_and(|d| d.contains(['\'', '"', '\\']));
                if let Some(body) = word(i + 2) {
                    if !quoted {
                        scan_substitutions(body, depth, out)?;
                    }
                }
                i += 4;
            }
            Redirect::Read | Redirect::Write | Redirect::Dup => match word(i + 1) {
                Some(target) => {
                    let target = expand_word(target, depth, out)?;
                    let dup = kind == Redirect::Dup
                        && (target == "-" || target.chars().all(|c| c.is_ascii_digit()));
                    if (kind == Redirect::Write || (kind == Redirect::Dup && !dup))
                        && !is_sink(&target)
                    {
                        out.writes.push(target);
                    }
                    i += 2;
                }
                None => i += 1,
            },
        }
    }
    flush(words, depth, out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirect {
    Read,
    Write,
    Dup,
    HereDoc,
}

fn redirect_kind(op: &str) -> Option<Redirect> {
    Some(match op {
        ">" | ">>" | ">|" | "&>" | "&>>" | "<>" => Redirect::Write,
        "<" | "<<<" => Redirect::Read,
        ">&" | "<&" => Redirect::Dup,
        "<<" | "<<-" => Redirect::HereDoc,
        _ => return None,
    })
}

fn is_sink(target: &str) -> bool {
    matches!(
        target,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
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

/// The literal value of a word, with quotes removed; command substitutions inside it
/// are parsed into `out` as commands in their own right.
fn expand_word(word: &str, depth: usize, out: &mut Parsed) -> Result<String, ShellError> {
    if !word.contains(['\'', '"', '\\', '$', '`', '~']) {
        return Ok(word.to_owned());
    }
    let pieces = guarded(|| brush_parser::word::parse(word, &Default::default()))?;
    let mut text = String::with_capacity(word.len());
    expand_pieces(word, &pieces, depth, out, &mut text)?;
    Ok(text)
}

fn expand_pieces(
    word: &str,
    pieces: &[brush_parser::word::WordPieceWithSource],
    depth: usize,
    out: &mut Parsed,
    text: &mut String,
) -> Result<(), ShellError> {
    for p in pieces {
        let raw = word.get(p.start_index..p.end_index).unwrap_or_default();
        match &p.piece {
            WordPiece::Text(s) | WordPiece::SingleQuotedText(s) => text.push_str(s),
            WordPiece::AnsiCQuotedText(s) => text.push_str(s),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                expand_pieces(word, inner, depth, out, text)?
            }
            WordPiece::EscapeSequence(s) => text.push_str(s.strip_prefix('\\').unwrap_or(s)),
            WordPiece::CommandSubstitution(s) | WordPiece::BackquotedCommandSubstitution(s) => {
                parse_into(s, depth + 1, out)?;
                text.push_str(raw);
            }
            WordPiece::TildeExpansion(_) => text.push_str(raw),
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
                scan_substitutions(inner, depth + 1, out)?;
                text.push_str(raw)
            }
        }
    }
    Ok(())
}

/// Parses the command substitutions in free text (a here-document body, an expansion).
fn scan_substitutions(body: &str, depth: usize, out: &mut Parsed) -> Result<(), ShellError> {
    if !body.contains("$(") && !body.contains('`') {
        return Ok(());
    }
    if depth > MAX_NESTING {
        return Err(ShellError::TooDeep);
    }
    let quoted = format!("\"{}\"", body.replace('"', "\\\""));
    expand_word(&quoted, depth, out).map(|_| ())
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            let name = name.strip_suffix('+').unwrap_or(name);
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Records one simple command (and what its wrappers run) from its expanded words.
fn flush(words: Vec<String>, depth: usize, out: &mut Parsed) -> Result<(), ShellError> {
    let mut rest: &[String] = &words;
    loop {
        while rest.first().is_some_and(|w| is_assignment(w)) {
            rest = &rest[1..];
        }
        let Some((program, args)) = rest.split_first() else {
            return Ok(());
        };
        let name = basename(program);
        let cmd_args: Vec<String> = if name == "git" {
            strip_git_globals(args)
        } else {
            args.to_vec()
        };
        let cmd = Command {
            name: name.to_owned(),
            program: program.clone(),
            args: cmd_args,
        };
        record_writes(&cmd, out);
        out.commands.push(cmd);
        match name {
            "sudo" | "doas" => {
                rest = skip_options(
                    args,
                    &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"],
                )
            }
            "env" => {
                let (inner, split) = env_args(args);
                if let Some(s) = split {
                    parse_into(&s, depth + 1, out)?;
                }
                rest = inner;
            }
            "command" | "builtin" | "exec" | "nohup" | "time" | "unbuffer" | "chronic" => {
                rest = skip_options(args, &["-a"])
            }
            "nice" => rest = skip_options(args, &["-n"]),
            "ionice" => rest = skip_options(args, &["-c", "-n", "-p", "-P", "-u"]),
            "stdbuf" => rest = skip_options(args, &["-i", "-o", "-e"]),
            "timeout" => {
                let r = skip_options(args, &["-s", "-k", "--signal", "--kill-after"]);
                rest = r.get(1..).unwrap_or(&[]);
            }
            "xargs" => {
                rest = skip_options(
                    args,
                    &[
                        "-I",
                        "-i",
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
                        "--replace",
                    ],
                )
            }
            "bash" | "sh" | "zsh" | "dash" | "ksh" | "ash" | "busybox" | "fish" => {
                if let Some(script) = shell_script(args) {
                    parse_into(script, depth + 1, out)?;
                }
                return Ok(());
            }
            "eval" => {
                let script = args.join(" ");
                return parse_into(&script, depth + 1, out);
            }
            _ => return Ok(()),
        }
    }
}

/// Skips leading options of a wrapper (those in `with_value` take the next word too).
fn skip_options<'a>(args: &'a [String], with_value: &[&str]) -> &'a [String] {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            return &args[i + 1..];
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        i += if with_value.contains(&a.as_str()) {
            2
        } else {
            1
        };
    }
    args.get(i..).unwrap_or(&[])
}

/// `env`'s arguments: the command it runs, and the string of `-S`/`--split-string` if any.
fn env_args(args: &[String]) -> (&[String], Option<String>) {
    let mut i = 0;
    let mut split = None;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "--" => {
                i += 1;
                break;
            }
            "-u" | "--unset" | "-C" | "--chdir" => i += 2,
            "-S" | "--split-string" => {
                split = args.get(i + 1).cloned();
                i += 2;
            }
            s if s.starts_with("-S") => {
                split = Some(s[2..].to_owned());
                i += 1;
            }
            s if s.starts_with("--split-string=") => {
                split = Some(s["--split-string=".len()..].to_owned());
                i += 1;
            }
            s if s.starts_with('-') || is_assignment(s) => i += 1,
            _ => break,
        }
    }
    (args.get(i..).unwrap_or(&[]), split)
}

/// The script a shell runs with `-c` (in any option cluster such as `-lc`), if any.
fn shell_script(args: &[String]) -> Option<&str> {
    let mut saw_c = false;
    for a in args {
        if saw_c && !a.starts_with('-') {
            return Some(a);
        }
        if a == "--" {
            continue;
        }
        if a.starts_with('-') && !a.starts_with("--") && a[1..].contains('c') {
            saw_c = true;
        } else if !a.starts_with('-') && !a.starts_with('+') {
            // A script file (or `-o opt` value); no -c seen before it.
            if !saw_c {
                return None;
            }
        }
    }
    None
}

/// Git's arguments without its global options, so the subcommand comes first.
fn strip_git_globals(args: &[String]) -> Vec<String> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--super-prefix"
            | "--exec-path" | "--config-env" | "--list-cmds"
                if !a.contains('=') =>
            {
                i += 2
            }
            s if s.starts_with("--") && s.len() > 2 => i += 1,
            s if s.starts_with('-') && s.len() > 1 => i += 1,
            _ => break,
        }
    }
    args.get(i..).unwrap_or(&[]).to_vec()
}

fn record_writes(cmd: &Command, out: &mut Parsed) {
    let mut push = |f: &str| {
        if !is_sink(f) {
            out.writes.push(f.to_owned())
        }
    };
    match cmd.name.as_str() {
        "tee" => cmd.positionals().for_each(&mut push),
        "sed" | "perl" if cmd.options().any(|o| in_place(o, &cmd.name)) => {
            // The script is the value of -e/-f (or, for sed without them, the first operand).
            let mut operands = Vec::new();
            let mut scripted = false;
            let mut args = cmd.args.iter();
            while let Some(a) = args.next() {
                match a.as_str() {
                    "-e" | "-f" | "--expression" | "--file" => {
                        scripted = true;
                        args.next();
                    }
                    s if s.starts_with("--expression=") || s.starts_with("--file=") => {
                        scripted = true
                    }
                    s if s.starts_with('-') && s.len() > 1 => {
                        // perl's -pe / -i.bak -e clusters carry the script in the next word.
                        if cmd.name == "perl" && s[1..].contains('e') {
                            scripted = true;
                            args.next();
                        }
                    }
                    s => operands.push(s),
                }
            }
            let skip = usize::from(!scripted);
            operands.into_iter().skip(skip).for_each(&mut push);
        }
        "dd" => cmd
            .args
            .iter()
            .filter_map(|a| a.strip_prefix("of="))
            .for_each(&mut push),
        "cp" | "mv" | "install" | "ln" => {
            let target = cmd
                .args
                .iter()
                .enumerate()
                .find(|(_, a)| a.as_str() == "-t" || a.starts_with("--target-directory"));
            match target {
                Some((i, a)) => match a.split_once('=') {
                    Some((_, dir)) => push(dir),
                    None => {
                        if let Some(dir) = cmd.args.get(i + 1) {
                            push(dir)
                        }
                    }
                },
                None => {
                    let pos: Vec<&str> = cmd.positionals().collect();
                    if pos.len() >= 2 {
                        push(pos[pos.len() - 1]);
                    }
                }
            }
        }
        _ => {}
    }
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
        assert_eq!(w("cat <<EOF > f\nhello $(rm -rf /)\nEOF"), ["f"]);
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
