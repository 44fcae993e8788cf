"""Shared fixtures: the repository's spec vectors and example policy, keys, governors."""

from __future__ import annotations

import pathlib

import pytest

import lumenflow

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEC = REPO / "spec"
VECTORS = SPEC / "vectors"
EXAMPLE_POLICY = REPO / "examples" / "policies" / "software-delivery.yaml"

# A small policy for the agent-loop tests: reads allowed, destructive commands denied,
# network calls need a lead's approval, everything else denied by default.
AGENT_POLICY = """\
version: 1
name: agent
default: deny
rules:
  - id: read
    effect: allow
    when: action.tool == "read"
  - id: bash
    effect: allow
    when: action.tool == "bash"
  - id: no-force-push
    effect: deny
    when: action.tool == "bash" && shell.invokes(action.args.command, "git push --force|-f")
    reason: force pushes rewrite shared history
  - id: http-needs-approval
    effect: require_approval
    when: action.tool == "http"
    approvers: ["role:lead"]
"""


@pytest.fixture
def key(tmp_path: pathlib.Path) -> pathlib.Path:
    """A fresh signing key (and its .pub beside it)."""
    path = tmp_path / "agent.key"
    key_id = lumenflow.generate_key(path)
    assert key_id.startswith("ed25519:")
    return path


@pytest.fixture
def agent_policy(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "agent.yaml"
    path.write_text(AGENT_POLICY)
    return path


@pytest.fixture
def gov(tmp_path: pathlib.Path, key: pathlib.Path, agent_policy: pathlib.Path):
    """A Governor over AGENT_POLICY writing to tmp_path/evidence, closed afterwards."""
    g = lumenflow.Governor(
        policy=agent_policy, evidence=tmp_path / "evidence", key=key, durability="none"
    )
    yield g
    g.close()


def records(evidence: pathlib.Path) -> list:
    """Every record of an evidence directory, parsed, in order."""
    import json

    out = []
    for seg in sorted((evidence / "segments").iterdir()):
        out.extend(json.loads(line) for line in seg.read_text().splitlines() if line)
    return out
