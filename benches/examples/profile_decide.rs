//! Runs `decide` in a loop for profilers (`perf record`, `valgrind --tool=callgrind`).
//! Usage: profile_decide [bash|push|edit|http|read] [iterations]
use lumenflow_core::{Action, Context, Policy, PolicySet};
use serde_json::json;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "edit".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/policies/software-delivery.yaml"
    );
    let set = PolicySet::single(Policy::from_file(path).unwrap());
    let ctx = Context::new()
        .with("worktree", "/work/repo")
        .with("allowed_hosts", json!(["*.github.com", "github.com"]));
    let action = match which.as_str() {
        "bash" => {
            json!({"tool": "bash", "args": {"command": "cargo test --workspace"}, "actor": "agent-7"})
        }
        "push" => {
            json!({"tool": "bash", "args": {"command": "git -C ../x push --force origin main"}, "actor": "agent-7"})
        }
        "http" => {
            json!({"tool": "http", "args": {"url": "https://example.com/upload", "method": "POST"}, "actor": "agent-7"})
        }
        "read" => json!({"tool": "read", "args": {"path": "README.md"}, "actor": "agent-7"}),
        _ => {
            json!({"tool": "edit", "args": {"path": "src/lib.rs", "old": "a", "new": "b"}, "actor": "agent-7"})
        }
    };
    let action = Action::from_value(action).unwrap();
    if std::env::var_os("SHOW_NATIVE").is_some() {
        for r in set.policies()[0].rules() {
            eprintln!(
                "{:40} native={} tools={:?}",
                r.id(),
                r.is_native(),
                r.tools()
            );
        }
    }
    let start = std::time::Instant::now();
    let mut allowed = 0usize;
    for _ in 0..n {
        allowed += usize::from(set.decide(&action, &ctx).allowed());
    }
    eprintln!(
        "{which}: {:?} per decide ({allowed} allowed)",
        start.elapsed() / n as u32
    );
}
