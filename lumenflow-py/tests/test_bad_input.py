"""Bad input from Python gives a clear lumenflow.Error naming what is wrong; never a crash."""

from __future__ import annotations

import pytest

import lumenflow
from conftest import EXAMPLE_POLICY

POLICY = lumenflow.PolicySet(EXAMPLE_POLICY)


class NotJson:
    pass


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({}, "missing `tool`"),
        ({"tool": 7}, "tool must be a str, not int"),
        ({"tool": "bash", "args": ["ls"]}, "args"),
        ({"tool": "bash", "args": "ls"}, "args"),
        ({"tool": "bash", "args": {"x": NotJson()}}, "args"),
        ({"tool": "bash", "args": {"x": {1, 2}}}, "args"),
        ({"tool": "bash", "args": {1: "int key"}}, "args"),
        ({"tool": "bash", "actor": 42}, "actor"),
        ({"tool": "bash", "actor": {"id": "a", "kind": "robot"}}, "actor"),
        ({"tool": "bash", "session": 3}, "session must be a str"),
        ({"tool": "bash", "metadata": [1]}, "metadata"),
        ({"tool": "bash", "cost": "cheap"}, "cost"),
        ({"tool": "bash", "tokens": 1.5}, "tokens"),
        ({"tool": "bash", "context": [1, 2]}, "context"),
        ({"tool": "bash", "context": {"x": NotJson()}}, "context"),
    ],
)
def test_bad_action_fields(kwargs, match):
    with pytest.raises(lumenflow.ActionError, match=match):
        POLICY.decide(**kwargs)


@pytest.mark.parametrize(
    "action,match",
    [
        ("bash", "must be a dict, not str"),
        ({"args": {}}, "tool"),
        ({"tool": "bash", "colour": "blue"}, "colour"),
        ({"tool": "bash", "args": {"x": float("nan")}}, "args.x: NaN is not a JSON number"),
        ({"tool": "bash", "args": {"files": ["a", b"b"]}}, "args.files[1]: bytes is not JSON"),
        ({"tool": "bash", "args": {"n": 2**70}}, "args.n: integer out of the 64-bit range"),
    ],
)
def test_bad_action_dicts(action, match):
    with pytest.raises(lumenflow.ActionError) as e:
        POLICY.decide(action)
    assert match in str(e.value)


def test_dict_and_keywords_together_is_an_error():
    with pytest.raises(lumenflow.ActionError, match="not both"):
        POLICY.decide({"tool": "bash"}, tool="bash")


def test_too_large_an_action_is_denied_not_a_crash():
    deep: dict = {}
    cur = deep
    for _ in range(200):
        cur["x"] = {}
        cur = cur["x"]
    try:
        d = POLICY.decide(tool="bash", args=deep)
    except lumenflow.ActionError:
        return  # rejected while converting (recursion limit): also fine
    assert d.effect == "deny" and d.decided_by == "invalid_input"


def test_non_finite_cost_is_refused():
    with pytest.raises(lumenflow.ActionError, match="cost: inf is not a JSON number"):
        POLICY.decide(tool="bash", args={"command": "ls"}, cost=float("inf"))


def test_policy_errors_name_the_place(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\nrules:\n  - id: r\n    effect: allow\n    when: action.tool ==\n")
    with pytest.raises(lumenflow.PolicyError) as e:
        lumenflow.PolicySet(bad)
    assert "bad.yaml" in str(e.value) and "`r`" in str(e.value)
    with pytest.raises(lumenflow.PolicyError, match="cannot read policy file"):
        lumenflow.PolicySet(tmp_path / "missing.yaml")
    with pytest.raises(lumenflow.PolicyError, match="inline"):
        lumenflow.PolicySet.from_yaml("version: 1\nname: x\nrules: 7\n", origin="inline")
    with pytest.raises(lumenflow.PolicyError, match="must be a str"):
        lumenflow.PolicySet.from_yaml(b"version: 1")


def test_governor_arguments(tmp_path, key, agent_policy):
    ev = tmp_path / "ev"
    with pytest.raises(lumenflow.Error, match="policy"):
        lumenflow.Governor(policy=3, evidence=ev, key=key)
    with pytest.raises(lumenflow.SigningKeyError):
        lumenflow.Governor(policy=agent_policy, evidence=ev, key=tmp_path / "nokey")
    not_a_key = tmp_path / "not.key"
    not_a_key.write_text("hello")
    with pytest.raises(lumenflow.SigningKeyError):
        lumenflow.Governor(policy=agent_policy, evidence=ev, key=not_a_key)
    with pytest.raises(lumenflow.Error, match="durability"):
        lumenflow.Governor(policy=agent_policy, evidence=ev, key=key, durability="fast")
    with pytest.raises(lumenflow.ActionError, match="context"):
        lumenflow.Governor(policy=agent_policy, evidence=ev, key=key, context="x")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(lumenflow.EvidenceError):
        lumenflow.Governor(policy=agent_policy, evidence=blocker / "ev", key=key)
    with pytest.raises(TypeError):
        lumenflow.Governor(agent_policy, ev, key)  # keyword-only, as documented


def test_record_arguments(gov):
    d = gov.decide(tool="read")
    with pytest.raises(lumenflow.Error, match="unknown status `done`"):
        gov.record(d, "done")
    with pytest.raises(lumenflow.Error, match="output must be bytes or str"):
        gov.record(d, output=123)
    with pytest.raises(lumenflow.Error, match="duration"):
        gov.record(d, duration=-1)
    with pytest.raises(lumenflow.Error, match="duration"):
        gov.record(d, duration="1s")
    with pytest.raises(lumenflow.Error, match="decision must be a Decision"):
        gov.record(42)
    gov.record(d)  # still open after all the refusals: defaults to success


def test_verify_arguments(tmp_path):
    with pytest.raises(lumenflow.EvidenceError, match="not an evidence directory"):
        lumenflow.verify(tmp_path)
    with pytest.raises(lumenflow.Error, match="keys"):
        lumenflow.verify(tmp_path, keys=5)
    with pytest.raises(lumenflow.SigningKeyError):
        lumenflow.verify(tmp_path, keys=["-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"])
    with pytest.raises(lumenflow.EvidenceError, match="checkpoint"):
        lumenflow.verify(tmp_path, checkpoint={"v": 1})
    with pytest.raises(lumenflow.Error, match="format"):
        lumenflow.export_log(tmp_path, tmp_path / "x", format="xml")


def test_canonicalize_rejects_non_json():
    with pytest.raises(lumenflow.Error, match="not JSON"):
        lumenflow.canonicalize({"x": NotJson()})
    with pytest.raises(lumenflow.Error, match="not a JSON number"):
        lumenflow.canonicalize(float("nan"))


def test_every_error_class_is_a_lumenflow_error():
    for cls in (
        lumenflow.PolicyError, lumenflow.ActionError, lumenflow.SigningKeyError,
        lumenflow.EvidenceError, lumenflow.ApprovalError, lumenflow.Denied,
        lumenflow.ApprovalRequired, lumenflow.BudgetExceeded,
    ):
        assert issubclass(cls, lumenflow.Error) and cls.__module__ == "lumenflow"
    assert issubclass(lumenflow.BudgetExceeded, lumenflow.Denied)
