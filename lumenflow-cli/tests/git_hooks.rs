//! `lumenflow install-git-hooks` and `lumenflow git-hook`, with real git repositories in
//! temporary directories: commits and pushes decided against a policy, recorded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example rules shipped for the git action (examples/git/policy-rules.yaml).
const POLICY: &str = include_str!("../../examples/git/policy-rules.yaml");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn git(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir).args(args);
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

fn lumenflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lumenflow"))
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap()
}

struct Repo {
    dir: PathBuf,
    repo: PathBuf,
    policy: PathBuf,
    key: PathBuf,
    ev: PathBuf,
}

fn setup(name: &str) -> Repo {
    let dir = std::env::temp_dir().join(format!("lumenflow-git-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let repo = dir.join("repo");
    ok(&git(&dir, &["init", "-q", "-b", "feature", "repo"], &[]));
    ok(&git(&dir, &["init", "-q", "--bare", "remote.git"], &[]));
    for (k, v) in [("user.email", "dev@example.com"), ("user.name", "Dev")] {
        ok(&git(&repo, &["config", k, v], &[]));
    }
    let remote = dir.join("remote.git");
    ok(&git(
        &repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
        &[],
    ));
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let key = dir.join("agent.key");
    ok(&lumenflow(&["keygen", "--out", key.to_str().unwrap()]));
    Repo {
        ev: dir.join("evidence"),
        dir,
        repo,
        policy,
        key,
    }
}

impl Repo {
    fn install(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "install-git-hooks",
            "--repo",
            self.repo.to_str().unwrap(),
            "-p",
            self.policy.to_str().unwrap(),
            "--evidence",
            self.ev.to_str().unwrap(),
            "--key",
            self.key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        lumenflow(&args)
    }
    fn commit(&self, file: &str, content: &str, env: &[(&str, &str)]) -> Output {
        std::fs::write(self.repo.join(file), content).unwrap();
        ok(&git(&self.repo, &["add", file], &[]));
        git(
            &self.repo,
            &["commit", "-q", "-m", &format!("change {file}")],
            env,
        )
    }
    fn records(&self) -> Vec<serde_json::Value> {
        let out = lumenflow(&["log", self.ev.to_str().unwrap(), "--json"]);
        ok(&out);
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn commits_and_pushes_are_decided_and_recorded() {
    let r = setup("decide");
    ok(&r.install(&[]));
    let hook = std::fs::read_to_string(r.repo.join(".git/hooks/pre-commit")).unwrap();
    assert!(hook.contains("lumenflow-git-hook"));
    // An ordinary commit goes through.
    ok(&r.commit("README.md", "hello\n", &[]));
    // A commit that adds a token is stopped before it exists.
    let token = format!("ghp_{}", "a1B2c3D4e5F6".repeat(3));
    let out = r.commit("config.py", &format!("TOKEN = \"{token}\"\n"), &[]);
    assert!(!out.status.success(), "the secret was committed");
    assert!(
        text(&out.stderr).contains("commit blocked"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("adds a secret"));
    assert_eq!(
        text(&git(&r.repo, &["log", "--format=%s"], &[]).stdout)
            .lines()
            .count(),
        1
    );
    ok(&git(&r.repo, &["reset", "-q", "HEAD", "config.py"], &[]));
    std::fs::remove_file(r.repo.join("config.py")).unwrap();
    // A commit on a protected branch is stopped.
    ok(&git(&r.repo, &["checkout", "-q", "-b", "main"], &[]));
    let out = r.commit("b.txt", "b\n", &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not straight to a protected one"));
    ok(&git(&r.repo, &["reset", "-q", "HEAD", "b.txt"], &[]));
    std::fs::remove_file(r.repo.join("b.txt")).unwrap();
    ok(&git(&r.repo, &["checkout", "-q", "feature"], &[]));
    // A push of a new branch goes through.
    ok(&git(&r.repo, &["push", "-q", "origin", "feature"], &[]));
    // Rewriting it and pushing with --force is stopped by pre-push.
    ok(&git(
        &r.repo,
        &["commit", "-q", "--amend", "-m", "rewritten"],
        &[],
    ));
    let out = git(
        &r.repo,
        &["push", "-q", "--force", "origin", "feature"],
        &[],
    );
    assert!(!out.status.success(), "the force push went through");
    assert!(
        text(&out.stderr).contains("force push"),
        "{}",
        text(&out.stderr)
    );
    // A push to main needs an approval: stopped, naming the request.
    let out = git(&r.repo, &["push", "-q", "origin", "feature:main"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("approval request"),
        "{}",
        text(&out.stderr)
    );
    // Deleting a remote branch is stopped.
    let out = git(&r.repo, &["push", "-q", "origin", ":feature"], &[]);
    assert!(!out.status.success());
    // Everything was recorded as git actions.
    let recs = r.records();
    let ds: Vec<_> = recs.iter().filter(|r| r["kind"] == "decision").collect();
    let summary: Vec<(String, String, String)> = ds
        .iter()
        .map(|d| {
            let a = &d["body"]["action"];
            assert_eq!(a["tool"], "git");
            assert_eq!(a["actor"]["id"], "git:dev@example.com");
            (
                a["args"]["op"].as_str().unwrap().to_owned(),
                a["args"]["branch"].as_str().unwrap().to_owned(),
                d["body"]["decision"]["effect"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let s = |op: &str, b: &str, e: &str| (op.to_owned(), b.to_owned(), e.to_owned());
    assert_eq!(
        summary,
        vec![
            s("commit", "feature", "allow"),
            s("commit", "feature", "deny"),
            s("commit", "main", "deny"),
            s("push", "feature", "allow"),
            s("commit", "feature", "allow"),
            s("push", "feature", "deny"),
            s("push", "main", "require_approval"),
            s("push", "feature", "deny"),
        ]
    );
    let secret = &ds[1]["body"]["action"]["args"]["added"];
    assert!(
        !secret.as_str().unwrap().contains(&token),
        "the secret is redacted in evidence"
    );
    let forced = &ds[5]["body"]["action"]["args"];
    assert_eq!(forced["force"], true);
    assert_eq!(ds[7]["body"]["action"]["args"]["delete"], true);
    assert_eq!(
        recs.iter().filter(|r| r["kind"] == "outcome").count(),
        ds.len(),
        "every decision is closed"
    );
    let out = lumenflow(&[
        "verify",
        r.ev.to_str().unwrap(),
        "--key",
        &format!("{}.pub", r.key.display()),
    ]);
    ok(&out);
}

#[test]
fn a_missing_lumenflow_blocks_the_commit() {
    let r = setup("missing");
    ok(&r.install(&[]));
    let out = r.commit(
        "a.txt",
        "a\n",
        &[("LUMENFLOW_BIN", "/nonexistent/lumenflow")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
    // A broken policy blocks too (fails closed).
    std::fs::write(&r.policy, "version: 1\nname: x\nrules: [").unwrap();
    let out = r.commit("a.txt", "a\n", &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("could not decide"));
}

#[test]
fn install_refuses_to_clobber_foreign_hooks() {
    let r = setup("install");
    let hooks = r.repo.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let mine = "#!/bin/sh\necho my own checks\n";
    std::fs::write(hooks.join("pre-push"), mine).unwrap();
    let out = r.install(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not written by LumenFlow"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).unwrap(),
        mine
    );
    assert!(
        !hooks.join("pre-commit").exists(),
        "nothing is installed when one hook is refused"
    );
    ok(&r.install(&["--force"]));
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push.lumenflow-backup")).unwrap(),
        mine
    );
    assert!(std::fs::read_to_string(hooks.join("pre-push"))
        .unwrap()
        .contains("lumenflow-git-hook"));
    // Re-installing over its own hooks needs no --force.
    ok(&r.install(&[]));
    // core.hooksPath is honoured.
    ok(&git(
        &r.repo,
        &["config", "core.hooksPath", "githooks"],
        &[],
    ));
    ok(&r.install(&[]));
    assert!(r.repo.join("githooks/pre-commit").exists());
    let _ = std::fs::remove_dir_all(&r.dir);
}
