"""Governor: decide, record, checkpoint, close, and the evidence it writes."""

from __future__ import annotations

import hashlib
import json

import pytest

import lumenflow
from conftest import EXAMPLE_POLICY, records


def test_decide_records_before_returning_and_record_closes(gov, tmp_path):
    d = gov.decide(tool="read", args={"path": "README.md"}, actor="agent-7", session="s-1")
    assert d.allowed and d.effect == "allow"
    assert d.id is not None and d.id.endswith(":0")
    assert d.hash.startswith("sha256:")
    recs = records(tmp_path / "evidence")
    assert [r["kind"] for r in recs] == ["decision"]
    assert recs[0]["hash"] == d.hash
    body = recs[0]["body"]
    assert body["action"]["tool"] == "read"
    assert body["action"]["actor"]["id"] == "agent-7"
    assert body["decision"]["effect"] == "allow"

    out_id = gov.record(d, "success", output="file contents\n", duration=0.25)
    recs = records(tmp_path / "evidence")
    assert [r["kind"] for r in recs] == ["decision", "outcome"]
    outcome = recs[1]["body"]
    assert f"{recs[1]['stream']}:{recs[1]['seq']}" == out_id
    assert outcome["decision"] == d.id and outcome["status"] == "success"
    assert outcome["duration_ms"] == 250
    digest = "sha256:" + hashlib.sha256(b"file contents\n").hexdigest()
    assert outcome["output_digest"] == digest == lumenflow.output_digest("file contents\n")


def test_a_deny_is_closed_at_once_and_cannot_be_recorded_again(gov, tmp_path):
    d = gov.decide({"tool": "bash", "args": {"command": "git push -f origin main"}})
    assert d.effect == "deny" and not d.allowed
    assert d.deciding_rules == [("agent", "no-force-push")]
    assert "force pushes rewrite shared history" in d.reason
    recs = records(tmp_path / "evidence")
    assert [r["kind"] for r in recs] == ["decision", "outcome"]
    assert recs[1]["body"]["status"] == "denied"
    with pytest.raises(lumenflow.EvidenceError, match=d.id):
        gov.record(d, "success")


def test_record_by_id_failure_with_error_and_secrets_redacted(gov, tmp_path):
    d = gov.decide(tool="bash", args={"command": "make test"})
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    gov.record(d.id, "failure", error=f"exit 2 (token {token})")
    outcome = records(tmp_path / "evidence")[-1]["body"]
    assert outcome["status"] == "failure"
    assert token not in json.dumps(outcome)
    assert "exit 2" in outcome["error"]


def test_unknown_decision_id_is_an_evidence_error(gov):
    with pytest.raises(lumenflow.EvidenceError, match="unknown decision"):
        gov.record("ffffffffffffffffffffffffffffffff:99", "success")


def test_context_from_the_governor_and_per_call(tmp_path, key):
    with lumenflow.Governor(
        policy=EXAMPLE_POLICY, evidence=tmp_path / "ev", key=key,
        context={"worktree": "/work/repo"},
    ) as gov:
        inside = gov.decide(tool="write", args={"path": "/work/repo/src/a.rs", "content": "x"})
        elsewhere = gov.decide(
            tool="write", args={"path": "/work/repo/src/a.rs", "content": "x"},
            context={"worktree": "/somewhere/else"},
        )
    assert inside.effect == "allow", inside.to_dict()
    assert elsewhere.effect != "allow", elsewhere.to_dict()


def test_layers_from_a_list_of_paths_and_a_policy_set(tmp_path, key, agent_policy):
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "version: 1\nname: strict\ndefault: allow\nrules:\n"
        "  - id: no-read\n    effect: deny\n    when: action.tool == \"read\"\n"
    )
    for policy in ([agent_policy, strict], lumenflow.PolicySet(agent_policy, strict)):
        with lumenflow.Governor(policy=policy, evidence=tmp_path / "ev", key=key) as gov:
            d = gov.decide(tool="read")
            assert d.effect == "deny" and d.deciding_rules == [("strict", "no-read")]
            assert [p["name"] for p in gov.policy.policies] == ["agent", "strict"]


def test_checkpoint_close_and_verify(tmp_path, key, agent_policy):
    ev = tmp_path / "ev"
    gov = lumenflow.Governor(policy=agent_policy, evidence=ev, key=key)
    assert gov.key_id.startswith("ed25519:") and gov.evidence == ev
    d = gov.decide(tool="read")
    cp = gov.checkpoint()
    assert cp["seq"] == 0 and cp["type"] == "checkpoint"
    gov.decide(tool="read")  # both left open: close() records them as unknown
    gov.close()
    gov.close()  # idempotent
    assert gov.closed
    with pytest.raises(lumenflow.EvidenceError, match="closed"):
        gov.decide(tool="read")
    statuses = [r["body"].get("status") for r in records(ev) if r["kind"] == "outcome"]
    assert statuses == ["unknown", "unknown"]

    report = lumenflow.verify(ev, keys=[str(key) + ".pub"], checkpoint=cp)
    assert report.valid and report.integrity == "valid" and report.completeness == "complete"
    assert report.kinds["decision"] == 2
    assert report.to_dict()["exit_code"] == 0
    # Without pinned keys: the shipped keys are used, and the report says so.
    assert any("shipped" in n for n in lumenflow.verify(ev).notes)
    assert d.id is not None


def test_tampering_with_written_evidence_is_detected(tmp_path, key, agent_policy):
    ev = tmp_path / "ev"
    with lumenflow.Governor(policy=agent_policy, evidence=ev, key=key) as gov:
        d = gov.decide(tool="bash", args={"command": "git status"})
        gov.record(d, "success", output=b"clean\n")
    seg = next((ev / "segments").iterdir())
    seg.write_text(seg.read_text().replace("git status", "git stash", 1))
    report = lumenflow.verify(ev, keys=str(key) + ".pub")
    assert report.exit_code == 1 and report.broken_seq == 0
    assert report.broken_reason


def test_export_bundle_verifies_on_its_own(tmp_path, key, agent_policy):
    ev = tmp_path / "ev"
    with lumenflow.Governor(policy=agent_policy, evidence=ev, key=key) as gov:
        for _ in range(3):
            gov.record(gov.decide(tool="read"), "success")
    n = lumenflow.export_log(ev, tmp_path / "audit.lfb")
    assert n == 6 + 0 or n >= 6
    assert lumenflow.verify(tmp_path / "audit.lfb", keys=[str(key) + ".pub"]).valid
    assert lumenflow.export_log(ev, tmp_path / "audit.jsonl", format="jsonl") == n
    assert lumenflow.verify_jsonl(tmp_path / "audit.jsonl", keys=[str(key) + ".pub"]).valid


def test_redacted_fields_and_secrets_never_reach_the_log(tmp_path, key, agent_policy):
    ev = tmp_path / "ev"
    token = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    with lumenflow.Governor(policy=agent_policy, evidence=ev, key=key, redact=["password"]) as gov:
        gov.decide(tool="bash", args={"command": f"echo {token}", "password": "hunter2"})
    text = "".join(p.read_text() for p in (ev / "segments").iterdir())
    assert token not in text and "hunter2" not in text
    kinds = {r["kind"] for r in records(ev)[0]["body"]["redactions"]}
    assert "field" in kinds and len(kinds) == 2


def test_policy_set_decide_is_pure_and_not_recordable(gov):
    ps = lumenflow.PolicySet(EXAMPLE_POLICY)
    d = ps.decide(tool="bash", args={"command": "ls"}, context={"worktree": "/w"})
    assert d.id is None and d.hash is None
    with pytest.raises(lumenflow.Error, match="not recorded by a Governor"):
        gov.record(d, "success")
    assert "Decision(effect=" in repr(d)
    assert d.eval_ns > 0 and d.policies[0]["name"] == "software-delivery"


def test_generate_key_never_overwrites(tmp_path):
    path = tmp_path / "k.key"
    kid = lumenflow.generate_key(str(path))
    assert (tmp_path / "k.key.pub").exists()
    with pytest.raises(lumenflow.SigningKeyError):
        lumenflow.generate_key(path)
    assert kid.startswith("ed25519:")


def test_policy_set_default_context():
    ps = lumenflow.PolicySet(EXAMPLE_POLICY, context={"worktree": "/w"})
    inside = {"tool": "write", "args": {"path": "/w/src/a.py", "content": "x"}}
    assert ps.decide(inside).effect == "allow"
    assert ps.decide(inside, context={"worktree": "/elsewhere"}).effect != "allow"
    assert lumenflow.PolicySet(EXAMPLE_POLICY).decide(inside).effect != "allow"
