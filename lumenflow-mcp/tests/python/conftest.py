"""Fixtures for the `lumenflow mcp` tests: the real proxy binary, real MCP servers from npm
(`@modelcontextprotocol/server-filesystem`, `@modelcontextprotocol/server-everything`) and
the official Python MCP client. scripts/test-mcp.sh installs them and sets:

LUMENFLOW   the lumenflow binary
MCP_BIN     the node_modules/.bin holding mcp-server-filesystem and mcp-server-everything
REPO        the repository root (for examples/policies)
"""

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

LUMENFLOW = os.environ["LUMENFLOW"]
MCP_BIN = Path(os.environ["MCP_BIN"])
REPO = Path(os.environ["REPO"])

# Every tool of server-everything the tests use; default deny, so any other tool is denied
# outright (and hidden with --hide-denied), as is get-env by rule.
EVERYTHING_POLICY = """
version: 1
name: mcp-test
default: deny
rules:
  - id: no-env
    effect: deny
    when: action.tool == "mcp:everything/get-env"
    reason: the environment holds secrets
  - id: echo-ok
    effect: allow
    when: action.tool == "mcp:everything/echo"
  - id: long-ok
    effect: allow
    when: action.tool == "mcp:everything/trigger-long-running-operation"
  - id: sum-needs-approval
    effect: require_approval
    when: action.tool == "mcp:everything/get-sum"
    approvers: ["role:lead"]
"""


def run(*args, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def keygen(path):
    out = run(LUMENFLOW, "keygen", "--out", str(path)).stdout
    return re.search(r"^key (\S+)", out, re.M).group(1)


class Env:
    """A scratch world: a worktree, a directory outside it, evidence, keys, a registry."""

    def __init__(self, root: Path):
        self.root = root
        self.work = root / "work"
        self.outside = root / "outside"
        self.evidence = root / "evidence"
        for d in (self.work, self.outside):
            d.mkdir()
        (self.work / ".git").mkdir()
        (self.work / "README.md").write_text("hello from the worktree\n")
        (self.outside / "secret-plan.txt").write_text("outside the worktree\n")
        self.key = root / "gov.key"
        keygen(self.key)
        self.alice = root / "alice.key"
        alice_id = keygen(self.alice)
        self.registry = root / "approvers.yaml"
        self.registry.write_text(
            f'version: 1\napprovers:\n  - {{id: alice, roles: [lead], keys: ["{alice_id}"]}}\n'
        )
        self.everything_policy = root / "mcp-test.yaml"
        self.everything_policy.write_text(EVERYTHING_POLICY)

    def proxy_args(self, policy, server_name, *extra):
        return [
            "--registry", str(self.registry),
            "mcp",
            "--policy", str(policy),
            "--evidence", str(self.evidence),
            "--key", str(self.key),
            "--server-name", server_name,
            "--project-dir", str(self.work),
            *extra,
        ]

    def records(self):
        out = run(LUMENFLOW, "log", str(self.evidence), "--json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def decisions(self, tool):
        return [
            r for r in self.records()
            if r["kind"] == "decision" and r["body"]["action"]["tool"] == tool
        ]

    def outcome(self, decision_id):
        for r in self.records():
            if r["kind"] == "outcome" and r["body"].get("decision") == decision_id:
                return r["body"]
        return None

    def verify(self):
        return run(LUMENFLOW, "verify", str(self.evidence), "--key", f"{self.key}.pub", check=False)

    def approve(self, request):
        return run(
            LUMENFLOW, "--registry", str(self.registry), "approve", str(self.evidence), request,
            "--key", str(self.key), "--sign-key", str(self.alice), "--reason", "looked at it",
        )


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout}s")


def children(pid):
    """The direct children of a process (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


@pytest.fixture
def anyio_backend():
    return "asyncio"
