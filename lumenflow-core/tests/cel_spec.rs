//! CEL's official conformance suite (google/cel-spec `tests/simple`, copied with its
//! licence into `tests/cel-spec/`) run through the policy engine: every test is checked
//! as a rule condition would be, then evaluated the way a decision evaluates it (natively
//! when the native compiler covers it, else by the `cel` fallback), and also by the
//! fallback alone and by the `cel` crate without LumenFlow's check, for comparison.
//!
//! Fails if any evaluator gives a wrong value or a value where an error is expected, or if
//! the engine's outcome of any test differs from `tests/cel-spec/expected.txt` (a listed
//! test that now passes, or an unlisted one that does not). `CEL_SPEC_BLESS=1` rewrites
//! that file and `tests/cel-spec/results.md` (the per-file table).

use lumenflow_core::policy::conformance::{self, Outcome, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------
// A parser for the subset of protobuf text format the suite uses.

#[derive(Debug, Clone)]
enum Field {
    Str(Vec<u8>),
    Tok(String),
    Msg(Msg),
    List(Vec<Field>),
}

type Msg = Vec<(String, Field)>;

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                b'#' => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn fail(&self, what: &str) -> String {
        let line = self.s[..self.i].iter().filter(|c| **c == b'\n').count() + 1;
        format!("line {line}: {what}")
    }
    fn name(&mut self) -> Result<String, String> {
        self.ws();
        if self.peek() == Some(b'[') {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b']' {
                self.i += 1;
            }
            self.i += 1;
            return Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned());
        }
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"_.-+".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(self.fail("expected a name"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn message(&mut self, close: Option<u8>) -> Result<Msg, String> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None if close.is_none() => return Ok(out),
                None => return Err(self.fail("unclosed message")),
                Some(c) if Some(c) == close => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b',' | b';') => self.i += 1,
                _ => {
                    let name = self.name()?;
                    let colon = self.peek() == Some(b':');
                    if colon {
                        self.i += 1;
                    }
                    let v = self.value()?;
                    out.push((name, v));
                }
            }
        }
    }
    fn value(&mut self) -> Result<Field, String> {
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                Ok(Field::Msg(self.message(Some(b'}'))?))
            }
            Some(b'<') => {
                self.i += 1;
                Ok(Field::Msg(self.message(Some(b'>'))?))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Field::List(items));
                        }
                        Some(b',') => self.i += 1,
                        None => return Err(self.fail("unclosed list")),
                        _ => items.push(self.value()?),
                    }
                }
            }
            Some(b'"' | b'\'') => {
                let mut bytes = Vec::new();
                while let Some(q @ (b'"' | b'\'')) = self.peek() {
                    self.i += 1;
                    self.string(q, &mut bytes)?;
                }
                Ok(Field::Str(bytes))
            }
            _ => Ok(Field::Tok(self.name()?)),
        }
    }
    fn string(&mut self, q: u8, out: &mut Vec<u8>) -> Result<(), String> {
        loop {
            let c = *self
                .s
                .get(self.i)
                .ok_or_else(|| self.fail("unclosed string"))?;
            self.i += 1;
            if c == q {
                return Ok(());
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let e = *self.s.get(self.i).ok_or_else(|| self.fail("bad escape"))?;
            self.i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'v' => out.push(11),
                b'0'..=b'7' => {
                    let mut n = u32::from(e - b'0');
                    for _ in 0..2 {
                        match self.s.get(self.i) {
                            Some(d @ b'0'..=b'7') => {
                                n = n * 8 + u32::from(d - b'0');
                                self.i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(n as u8);
                }
                b'x' => {
                    let mut n = 0u32;
                    for _ in 0..2 {
                        match self.s.get(self.i).and_then(|d| (*d as char).to_digit(16)) {
                            Some(d) => {
                                n = n * 16 + d;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(n as u8);
                }
                b'u' | b'U' => {
                    let len = if e == b'u' { 4 } else { 8 };
                    let hex = std::str::from_utf8(&self.s[self.i..self.i + len])
                        .map_err(|_| self.fail("bad \\u"))?;
                    let ch = u32::from_str_radix(hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| self.fail("bad \\u"))?;
                    self.i += len;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                other => out.push(other),
            }
        }
    }
}

/// The text of a message, its strings decoded, for spotting protobuf type names.
fn flat(m: &Msg, out: &mut String) {
    fn field(f: &Field, out: &mut String) {
        match f {
            Field::Str(b) => out.push_str(&String::from_utf8_lossy(b)),
            Field::Tok(t) => out.push_str(t),
            Field::Msg(m) => flat(m, out),
            Field::List(l) => l.iter().for_each(|f| field(f, out)),
        }
    }
    for (name, f) in m {
        out.push_str(name);
        out.push(' ');
        field(f, out);
        out.push(' ');
    }
}

fn parse(text: &str) -> Result<Msg, String> {
    P {
        s: text.as_bytes(),
        i: 0,
    }
    .message(None)
}

fn get<'a>(m: &'a Msg, name: &str) -> Option<&'a Field> {
    m.iter().find(|(n, _)| n == name).map(|(_, f)| f)
}

fn all<'a>(m: &'a Msg, name: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
    m.iter().filter(move |(n, _)| n == name).map(|(_, f)| f)
}

fn text(f: Option<&Field>) -> String {
    match f {
        Some(Field::Str(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Field::Tok(t)) => t.clone(),
        _ => String::new(),
    }
}

fn msg(f: &Field) -> Option<&Msg> {
    match f {
        Field::Msg(m) => Some(m),
        _ => None,
    }
}

/// A `cel.expr.Value`; `Err` names what it holds that this runner cannot state.
fn value(m: &Msg) -> Result<Value, String> {
    let (name, f) = m.first().ok_or("empty value")?;
    let tok = || text(Some(f));
    Ok(match name.as_str() {
        "null_value" => Value::Null,
        "bool_value" => Value::Bool(tok() == "true"),
        "int64_value" => Value::Int(tok().parse().map_err(|e| format!("{e}"))?),
        "uint64_value" => Value::Uint(tok().parse().map_err(|e| format!("{e}"))?),
        "double_value" => Value::Double(match tok().as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "-inf" | "-infinity" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            t => t.parse().map_err(|e| format!("double {t}: {e}"))?,
        }),
        "string_value" => match f {
            Field::Str(b) => {
                Value::String(String::from_utf8(b.clone()).map_err(|e| e.to_string())?)
            }
            _ => return Err("string_value".into()),
        },
        "bytes_value" => match f {
            Field::Str(b) => Value::Bytes(b.clone()),
            _ => return Err("bytes_value".into()),
        },
        "type_value" => Value::Type(tok()),
        "list_value" => Value::List(
            msg(f)
                .map(|l| {
                    all(l, "values")
                        .map(|v| value(msg(v).ok_or("list item")?))
                        .collect()
                })
                .transpose()?
                .unwrap_or_default(),
        ),
        "map_value" => {
            let mut out = Vec::new();
            for e in all(msg(f).ok_or("map")?, "entries") {
                let e = msg(e).ok_or("map entry")?;
                let k = value(get(e, "key").and_then(msg).ok_or("map key")?)?;
                let v = value(get(e, "value").and_then(msg).ok_or("map value")?)?;
                out.push((k, v));
            }
            Value::Map(out)
        }
        other => return Err(format!("{other} (needs protobuf messages)")),
    })
}

// ---------------------------------------------------------------------------------
// The suite's tests.

#[derive(Debug)]
enum Expect {
    Value(Value),
    Error,
}

struct Test {
    id: String,
    file: String,
    /// The namespace names resolve in (`container`), empty for none.
    container: String,
    expr: String,
    bindings: Vec<(String, Value)>,
    expect: Result<Expect, String>,
}

const PROTO_MARKERS: &[&str] = &[
    "TestAllTypes",
    "google.protobuf.",
    "cel.expr.conformance",
    "object_value",
    "enum_value",
    "message_type",
    "GlobalEnum",
    "NestedEnum",
    "TestRequired",
    "proto2",
    "proto3",
];

/// Containers whose names are protobuf messages.
const PROTO_CONTAINERS: &[&str] = &["google.protobuf", "cel.expr.conformance"];

fn load(dir: &Path) -> Vec<Test> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("suite directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "textproto"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the suite has {} files", files.len());
    let mut out = Vec::new();
    for path in files {
        let file = path.file_stem().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&path).expect("read");
        let doc = parse(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for s in all(&doc, "section") {
            let s = msg(s).expect("section");
            let sname = text(get(s, "name"));
            for t in all(s, "test") {
                let t = msg(t).expect("test");
                let id = format!("{file}/{sname}/{}", text(get(t, "name")));
                let expr = text(get(t, "expr"));
                let expect = expectation(t);
                let mut bindings = Vec::new();
                let mut bad_binding = None;
                for b in all(t, "bindings") {
                    let b = msg(b).expect("binding");
                    let name = text(get(b, "key"));
                    let v = get(b, "value")
                        .and_then(msg)
                        .and_then(|ev| get(ev, "value"))
                        .and_then(msg)
                        .ok_or_else(|| "binding without a value".to_string())
                        .and_then(value);
                    match v {
                        Ok(v) => bindings.push((name, v)),
                        Err(e) => bad_binding = Some(format!("binding {name}: {e}")),
                    }
                }
                let mut debug = String::new();
                flat(t, &mut debug);
                // The type names of timestamps and durations are not messages.
                for name in ["google.protobuf.Timestamp", "google.protobuf.Duration"] {
                    debug = debug
                        .split(name)
                        .enumerate()
                        .map(|(i, part)| match i {
                            0 => part.to_string(),
                            _ if part.trim_start().starts_with('{') => format!("{name}{part}"),
                            _ => format!("timestamp-or-duration-type{part}"),
                        })
                        .collect();
                }
                let proto = PROTO_MARKERS.iter().find(|m| debug.contains(*m));
                let container = text(get(t, "container"));
                let unchecked = text(get(t, "disable_check")) == "true";
                // A container of protobuf messages (`google.protobuf`: `Int32Value{...}`).
                let proto_container = PROTO_CONTAINERS.iter().any(|c| container.starts_with(c));
                let expect = match (proto, bad_binding) {
                    (Some(m), _) => Err(format!(
                        "protobuf: uses `{m}`; protobuf messages need a type registry the engine does not have"
                    )),
                    _ if proto_container => Err(format!(
                        "protobuf: messages of container `{container}`; protobuf messages need a type registry the engine does not have"
                    )),
                    (None, Some(b)) => Err(b),
                    (None, None) => expect,
                };
                let expect = match expect {
                    Ok(Expect::Value(_))
                        if unchecked
                            && conformance::check(
                                &expr,
                                &bindings.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                                &container,
                            )
                            .is_err() =>
                    {
                        Err("disable_check: needs an unchecked expression (an undeclared name); rules are always checked at load".into())
                    }
                    other => other,
                };
                out.push(Test {
                    id,
                    file: file.clone(),
                    container,
                    expr,
                    bindings,
                    expect,
                });
            }
        }
    }
    out
}

fn expectation(t: &Msg) -> Result<Expect, String> {
    if text(get(t, "check_only")) == "true" {
        return Err("check_only: type deduction, which the engine does not report".into());
    }
    if get(t, "unknown").is_some() || get(t, "any_unknowns").is_some() {
        return Err("unknowns: partial evaluation is not supported".into());
    }
    if get(t, "eval_error").is_some() || get(t, "any_eval_errors").is_some() {
        return Ok(Expect::Error);
    }
    if let Some(v) = get(t, "value").and_then(msg) {
        return value(v).map(Expect::Value);
    }
    if let Some(r) = get(t, "typed_result").and_then(msg) {
        return match get(r, "result").and_then(msg) {
            Some(v) => value(v).map(Expect::Value),
            None => Err("typed_result without a result: type deduction only".into()),
        };
    }
    Ok(Expect::Value(Value::Bool(true)))
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => (x.is_nan() && y.is_nan()) || x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| same(k, k2) && same(v, v2)))
        }
        _ => a == b,
    }
}

/// How one evaluator did on one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Pass,
    /// An error was expected and the check rejected the expression at load.
    PassAtLoad,
    RejectedAtLoad,
    ErrorNotValue,
    WrongValue,
    ValueNotError,
}

impl Verdict {
    fn passed(self) -> bool {
        matches!(self, Verdict::Pass | Verdict::PassAtLoad)
    }
    fn fatal(self) -> bool {
        matches!(self, Verdict::WrongValue | Verdict::ValueNotError)
    }
    fn tag(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassAtLoad => "pass-at-load",
            Verdict::RejectedAtLoad => "rejected-at-load",
            Verdict::ErrorNotValue => "error-not-value",
            Verdict::WrongValue => "WRONG-VALUE",
            Verdict::ValueNotError => "VALUE-NOT-ERROR",
        }
    }
}

fn judge(expect: &Expect, got: &Outcome) -> (Verdict, String) {
    match (expect, got) {
        (Expect::Value(want), Outcome::Value(v)) if same(want, v) => (Verdict::Pass, String::new()),
        (Expect::Value(want), Outcome::Value(v)) => {
            (Verdict::WrongValue, format!("want {want:?}, got {v:?}"))
        }
        (Expect::Value(_), Outcome::Error(e)) => (Verdict::ErrorNotValue, e.clone()),
        (Expect::Value(_), Outcome::Rejected(errs)) => {
            (Verdict::RejectedAtLoad, format!("{:?}", errs.first()))
        }
        (Expect::Error, Outcome::Error(_)) => (Verdict::Pass, String::new()),
        (Expect::Error, Outcome::Rejected(_)) => (Verdict::PassAtLoad, String::new()),
        (Expect::Error, Outcome::Value(v)) => (Verdict::ValueNotError, format!("got {v:?}")),
    }
}

fn one_line(s: &str) -> String {
    let s: String = s.replace(['\n', '\t'], " ");
    if s.chars().count() > 120 {
        s.chars().take(117).collect::<String>() + "..."
    } else {
        s
    }
}

#[derive(Default)]
struct Row {
    tests: usize,
    skipped: usize,
    engine: usize,
    native_ran: usize,
    native: usize,
    fallback: usize,
    cel_crate: usize,
    cel_stock: usize,
}

#[test]
fn conformance_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cel-spec");
    let tests = load(&root.join("testdata"));
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut listed = String::new();
    let mut fatal = Vec::new();
    let mut protobuf = 0;
    for t in &tests {
        let row = rows.entry(t.file.clone()).or_default();
        row.tests += 1;
        let expect = match &t.expect {
            Ok(e) => e,
            Err(why) => {
                row.skipped += 1;
                protobuf += usize::from(why.starts_with("protobuf"));
                writeln!(listed, "{}\tskip\t{}", t.id, one_line(why)).unwrap();
                continue;
            }
        };
        let fallback = conformance::fallback(&t.expr, &t.bindings, &t.container);
        let (fv, fwhy) = judge(expect, &fallback);
        if fv.fatal() {
            fatal.push(format!(
                "fallback {} {}: `{}`: {fwhy}",
                fv.tag(),
                t.id,
                t.expr
            ));
        }
        row.fallback += usize::from(fv.passed());
        let (cv, _) = judge(
            expect,
            &conformance::cel_crate(&t.expr, &t.bindings, &t.container),
        );
        row.cel_crate += usize::from(cv.passed());
        let (sv, _) = judge(
            expect,
            &conformance::cel_crate_stock(&t.expr, &t.bindings, &t.container),
        );
        row.cel_stock += usize::from(sv.passed());
        let (ev, ewhy) = match conformance::native(&t.expr, &t.bindings, &t.container) {
            Some(n) => {
                let (nv, nwhy) = judge(expect, &n);
                if nv.fatal() {
                    fatal.push(format!(
                        "native {} {}: `{}`: {nwhy}",
                        nv.tag(),
                        t.id,
                        t.expr
                    ));
                }
                if !matches!(n, Outcome::Rejected(_)) {
                    row.native_ran += 1;
                    row.native += usize::from(nv.passed());
                }
                (nv, nwhy)
            }
            None => (fv, fwhy),
        };
        row.engine += usize::from(ev.passed());
        if !ev.passed() {
            writeln!(listed, "{}\t{}\t{}", t.id, ev.tag(), one_line(&ewhy)).unwrap();
        }
    }

    let mut table = String::from(
        "| File | Tests | Skipped (protobuf etc.) | Run | Engine passes | Native ran / passed | Fallback passes | `cel` crate alone | `cel` crate, stock |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut total = Row::default();
    for (file, r) in &rows {
        writeln!(
            table,
            "| {file} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
            r.tests,
            r.skipped,
            r.tests - r.skipped,
            r.engine,
            r.native_ran,
            r.native,
            r.fallback,
            r.cel_crate,
            r.cel_stock
        )
        .unwrap();
        total.tests += r.tests;
        total.skipped += r.skipped;
        total.engine += r.engine;
        total.native_ran += r.native_ran;
        total.native += r.native;
        total.fallback += r.fallback;
        total.cel_crate += r.cel_crate;
        total.cel_stock += r.cel_stock;
    }
    let run = total.tests - total.skipped;
    writeln!(
        table,
        "| **all** | {} | {} | {run} | **{}** ({:.1} %) | {} / {} | {} | {} | {} |",
        total.tests,
        total.skipped,
        total.engine,
        100.0 * total.engine as f64 / run.max(1) as f64,
        total.native_ran,
        total.native,
        total.fallback,
        total.cel_crate,
        total.cel_stock
    )
    .unwrap();
    let non_protobuf = total.tests - protobuf;
    writeln!(
        table,
        "\nOf the suite's {non_protobuf} tests that need no protobuf messages ({protobuf} do), the engine passes **{} ({:.1} %)**: the {} other skipped tests count as not passed.",
        total.engine,
        100.0 * total.engine as f64 / non_protobuf.max(1) as f64,
        total.skipped - protobuf
    )
    .unwrap();
    println!("{table}");

    let expected_path = root.join("expected.txt");
    let header = "# CEL conformance tests the engine does not pass, and why (tab-separated: test, outcome, detail).\n# Regenerate with CEL_SPEC_BLESS=1 cargo test -p lumenflow-core --test cel_spec; review the diff.\n";
    if std::env::var_os("CEL_SPEC_BLESS").is_some() {
        std::fs::write(&expected_path, format!("{header}{listed}")).unwrap();
        std::fs::write(root.join("results.md"), &table).unwrap();
    }
    assert!(
        fatal.is_empty(),
        "{} wrong values or values where an error is expected:\n{}",
        fatal.len(),
        fatal.join("\n")
    );
    let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
    let key = |l: &str| {
        let mut it = l.split('\t');
        (
            it.next().unwrap_or("").to_string(),
            it.next().unwrap_or("").to_string(),
        )
    };
    let want: BTreeMap<String, String> = want
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(key)
        .collect();
    let got: BTreeMap<String, String> = listed.lines().map(key).collect();
    let mut diffs = Vec::new();
    for (id, tag) in &want {
        match got.get(id) {
            None => diffs.push(format!(
                "{id}: listed as {tag}, now passes (update expected.txt)"
            )),
            Some(g) if g != tag => diffs.push(format!("{id}: listed as {tag}, now {g}")),
            _ => {}
        }
    }
    for (id, tag) in &got {
        if !want.contains_key(id) {
            diffs.push(format!("{id}: not listed, now {tag}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} tests differ from tests/cel-spec/expected.txt:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
