//! Policy tests: files of cases (an action, a context, the expected effect and
//! optionally the expected deciding rule) run against a [`PolicySet`], with a report of
//! which rules no case exercised. The format is in `spec/policy-tests.md`.

use crate::action::{Action, Context};
use crate::error::{Diagnostic, PolicyError};
use crate::policy::decide::{Decision, Effect, PolicySet, RuleRef};
use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteDoc {
    #[serde(default)]
    context: Option<serde_json::Value>,
    cases: Vec<CaseDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    name: Spanned<String>,
    action: serde_json::Value,
    #[serde(default)]
    context: Option<serde_json::Value>,
    expect: Effect,
    #[serde(default)]
    rule: Option<String>,
}

/// One test case.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// Its name.
    pub name: String,
    /// The line it starts on.
    pub line: u64,
    /// The action to decide.
    pub action: Action,
    /// The context (the suite's, with the case's entries on top).
    pub context: Context,
    /// The expected effect.
    pub expect: Effect,
    /// The expected deciding rule (`id`, or `policy:id` with several layers), if given.
    pub rule: Option<String>,
}

/// A file of test cases.
#[derive(Debug, Clone)]
pub struct TestSuite {
    /// The cases, in file order.
    pub cases: Vec<TestCase>,
}

/// How one case went.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: TestCase,
    /// The decision it got.
    pub decision: Decision,
    /// `None` if it passed, else why it failed.
    pub failure: Option<String>,
}

/// The outcome of a suite.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// One result per case.
    pub results: Vec<CaseResult>,
    /// Rules that no case matched.
    pub unexercised: Vec<RuleRef>,
}

impl TestReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.failure.is_none()).count()
    }
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

impl TestSuite {
    /// Reads a suite from YAML (or JSON) text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<TestSuite, PolicyError> {
        let doc: SuiteDoc = serde_saphyr::from_str(text).map_err(|e| {
            let d = Diagnostic::new(origin, crate::policy::file::reader_message(&e));
            PolicyError::Invalid(vec![match e.location() {
                Some(l) => d.at(l.line(), l.column()),
                None => d,
            }])
        })?;
        let base = match doc.context {
            Some(v) => Context::from_value(v).map_err(|e| {
                PolicyError::Invalid(vec![
                    Diagnostic::new(origin, e.to_string()).in_field("context")
                ])
            })?,
            None => Context::new(),
        };
        let mut diags = Vec::new();
        let mut cases = Vec::new();
        for c in doc.cases {
            let line = c.name.referenced.line();
            let at = |msg: String, field: &str| {
                Diagnostic::new(origin, msg)
                    .at(line, c.name.referenced.column())
                    .in_field(field)
            };
            let action = match Action::from_value(c.action) {
                Ok(a) => a,
                Err(e) => {
                    diags.push(at(format!("case `{}`: {e}", c.name.value), "action"));
                    continue;
                }
            };
            let mut context = base.clone();
            if let Some(v) = c.context {
                match Context::from_value(v) {
                    Ok(extra) => {
                        for (k, v) in extra.values() {
                            context = context.with(k.clone(), v.clone());
                        }
                    }
                    Err(e) => {
                        diags.push(at(format!("case `{}`: {e}", c.name.value), "context"));
                        continue;
                    }
                }
            }
            cases.push(TestCase {
                name: c.name.value,
                line,
                action,
                context,
                expect: c.expect,
                rule: c.rule,
            });
        }
        if diags.is_empty() {
            Ok(TestSuite { cases })
        } else {
            Err(PolicyError::Invalid(diags))
        }
    }

    /// Reads a suite file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<TestSuite, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        TestSuite::from_yaml(&text, &path.display().to_string())
    }

    /// Runs every case against `set`.
    pub fn run(&self, set: &PolicySet) -> TestReport {
        let mut exercised = std::collections::HashSet::new();
        let results = self
            .cases
            .iter()
            .map(|case| {
                let decision = set.decide(&case.action, &case.context);
                for m in &decision.matched {
                    exercised.insert((m.policy.clone(), m.rule.clone()));
                }
                let failure = check(case, &decision);
                CaseResult {
                    case: case.clone(),
                    decision,
                    failure,
                }
            })
            .collect();
        let unexercised = set
            .policies()
            .iter()
            .flat_map(|p| {
                p.rules().iter().map(|r| RuleRef {
                    policy: p.name().into(),
                    rule: r.id().into(),
                })
            })
            .filter(|r| !exercised.contains(&(r.policy.clone(), r.rule.clone())))
            .collect();
        TestReport {
            results,
            unexercised,
        }
    }
}

fn check(case: &TestCase, d: &Decision) -> Option<String> {
    let rules = || {
        d.deciding_rules
            .iter()
            .map(|r| format!("{}:{}", r.policy, r.rule))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if d.effect != case.expect {
        return Some(format!(
            "expected {}, got {} ({})",
            case.expect, d.effect, d.reason
        ));
    }
    if let Some(want) = &case.rule {
        let hit = d
            .deciding_rules
            .iter()
            .any(|r| want.as_str() == &*r.rule || *want == format!("{}:{}", r.policy, r.rule));
        if !hit {
            let got = if d.deciding_rules.is_empty() {
                "the default".to_owned()
            } else {
                rules()
            };
            return Some(format!("expected rule `{want}` to decide, but {got} did"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    #[test]
    fn runs_cases_and_reports_coverage() {
        let p = Policy::from_yaml("version: 1\nname: p\nrules:\n  - id: a\n    effect: allow\n    when: action.tool == 'x'\n  - id: b\n    effect: deny\n    when: action.tool == 'y'\n", "p").unwrap();
        let set = PolicySet::single(p);
        let suite = TestSuite::from_yaml("context: {k: 1}\ncases:\n  - name: x allowed\n    action: {tool: x}\n    expect: allow\n    rule: a\n  - name: wrong\n    action: {tool: z}\n    expect: allow\n  - name: wrong rule\n    action: {tool: x}\n    expect: allow\n    rule: p:b\n", "t").unwrap();
        assert_eq!(suite.cases[0].context.values()["k"], 1);
        let r = suite.run(&set);
        assert_eq!((r.passed(), r.failed()), (1, 2));
        assert!(r.results[1]
            .failure
            .as_ref()
            .unwrap()
            .starts_with("expected allow, got deny"));
        assert!(r.results[2]
            .failure
            .as_ref()
            .unwrap()
            .contains("expected rule `p:b`"));
        assert_eq!(r.unexercised.len(), 1);
        assert_eq!(&*r.unexercised[0].rule, "b");
    }

    #[test]
    fn bad_suites_are_errors() {
        let e = TestSuite::from_yaml(
            "cases:\n  - name: a\n    action: {tool: x, bogus: 1}\n    expect: allow\n",
            "t.yaml",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("t.yaml:2:") && e.to_string().contains("bogus"),
            "{e}"
        );
        let e = TestSuite::from_yaml(
            "cases:\n  - name: a\n    action: {tool: x}\n    expect: maybe\n",
            "t.yaml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("maybe"), "{e}");
    }
}
