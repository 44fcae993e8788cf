"""Python-side overhead of `decide`, with cedarpy on an equivalent policy, in one run.

    ./lumenflow-py/bench/run.sh          # builds a release wheel, installs cedarpy, runs this

For each request of the Rust benchmark (benches/benches/decide.rs) it times, per call:
- `lumenflow`: `PolicySet.decide(tool=..., args=..., actor=..., session=...)` from Python,
  with the context given once to the PolicySet (as the Rust benchmark builds it once):
  converting the arguments, the core's decision, the Decision object;
- `+ context`: the same with `context=` converted on every call;
- `core eval`: the core's own evaluation time for the same decision (`Decision.eval_ns`),
  so `overhead = lumenflow - core eval` is what the Python layer adds;
- `cedarpy`: `cedarpy.is_authorized(request, policies, entities)` with pre-parsed
  PolicySet and Entities handles and the context precomputed (Cedar has no shell, path or
  secret helpers, so the parsing LumenFlow does inside decide is done outside its timing).
Medians of batches of calls, after a warm-up.
"""

from __future__ import annotations

import json
import pathlib
import platform
import re
import statistics
import sys
import time

import lumenflow

REPO = pathlib.Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policies" / "software-delivery.yaml"
CEDAR = REPO / "benches" / "cedar" / "software-delivery.cedar"
CONTEXT = {"worktree": "/work/repo", "allowed_hosts": ["*.github.com", "github.com"]}


def shell(programs, destructive=False):
    return {
        "programs": programs, "git_destructive": destructive, "recursive_delete": False,
        "writes_outside_worktree": False, "writes_protected": False,
        "package_install": False, "has_secret": False, "cost": 0,
    }


CASES = [
    ("bash: cargo test --workspace", "allow",
     {"tool": "bash", "args": {"command": "cargo test --workspace"}}, "bash", shell(["cargo"])),
    ("bash: git -C ../x push --force origin main", "deny",
     {"tool": "bash", "args": {"command": "git -C ../x push --force origin main"}}, "bash",
     shell(["git"], True)),
    ("edit: src/lib.rs", "allow",
     {"tool": "edit", "args": {"path": "src/lib.rs", "old": "a", "new": "b"}}, "edit",
     {"path": "/work/repo/src/lib.rs", "has_secret": False, "cost": 0}),
    ("http: POST https://example.com/upload", "require_approval",
     {"tool": "http", "args": {"url": "https://example.com/upload", "method": "POST"}}, "http",
     {"scheme": "https", "host": "example.com", "has_secret": False, "cost": 0}),
    ("read: README.md", "allow",
     {"tool": "read", "args": {"path": "README.md"}}, "read",
     {"path": "/work/repo/README.md", "has_secret": False, "cost": 0}),
]


def per_call_ns(fn, batch: int, batches: int) -> float:
    """Median over `batches` of the mean time per call in a batch of `batch` calls."""
    for _ in range(batch):
        fn()
    samples = []
    for _ in range(batches):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter_ns() - t0) / batch)
    return statistics.median(samples)


def cedar_effect(result, ids) -> str:
    """allow / deny / require_approval: cedarpy names policies policy0, policy1, ... in
    file order; `ids` maps those to the @id annotations (approval-* is require_approval)."""
    if not result.allowed:
        return "deny"
    named = [ids[int(r[len("policy"):])] for r in result.diagnostics.reasons]
    return "require_approval" if any(n.startswith("approval") for n in named) else "allow"


def main() -> None:
    import cedarpy

    ps = lumenflow.PolicySet(POLICY, context=CONTEXT)
    cedar_text = CEDAR.read_text()
    ids = re.findall(r'^@id\("([^"]+)"\)', cedar_text, re.M)
    cedar_set = cedarpy.PolicySet.from_str(cedar_text)
    entities = cedarpy.Entities.from_json_str("[]")
    rows = []
    for name, expect, action, cedar_action, cedar_ctx in CASES:
        kwargs = dict(action, actor="agent-7", session="s-1")
        with_ctx = dict(kwargs, context=CONTEXT)
        d = ps.decide(**kwargs)
        assert ps.decide(**with_ctx).effect == expect
        assert d.effect == expect, (name, d.to_dict())
        request = {
            "principal": 'Agent::"agent-7"',
            "action": f'Action::"{cedar_action}"',
            "resource": 'Tool::"any"',
            "context": cedar_ctx,
        }
        r = cedarpy.is_authorized(request, cedar_set, entities)
        assert cedar_effect(r, ids) == expect, (name, r.diagnostics.reasons)

        lumen = per_call_ns(lambda: ps.decide(**kwargs), 2000, 25)
        lumen_ctx = per_call_ns(lambda: ps.decide(**with_ctx), 2000, 25)
        evals = []
        for _ in range(2000):
            evals.append(ps.decide(**kwargs).eval_ns)
        core = statistics.median(evals)
        cedar = per_call_ns(lambda: cedarpy.is_authorized(request, cedar_set, entities), 200, 15)
        rows.append((name, expect, lumen, core, cedar, lumen_ctx))

    print(f"Python {platform.python_version()} ({platform.machine()}), lumenflow {lumenflow.__version__}, "
          f"cedarpy {getattr(cedarpy, '__version__', '?')}, {platform.processor() or platform.platform()}")
    print()
    print("| Request | LumenFlow from Python | core eval (`eval_ns`) | Python overhead | + context per call | cedarpy | cedarpy / LumenFlow |")
    print("|---|---|---|---|---|---|---|")
    for name, expect, lumen, core, cedar, lumen_ctx in rows:
        print(f"| `{name}` → {expect} | {lumen / 1000:.2f} µs | {core / 1000:.2f} µs | "
              f"{(lumen - core) / 1000:.2f} µs | {lumen_ctx / 1000:.2f} µs | {cedar / 1000:.1f} µs | {cedar / lumen:.0f}× |")
    json.dump({r[0]: {"lumenflow_ns": r[2], "core_eval_ns": r[3], "cedarpy_ns": r[4], "with_context_ns": r[5]}
               for r in rows}, sys.stderr, indent=1)


if __name__ == "__main__":
    main()
