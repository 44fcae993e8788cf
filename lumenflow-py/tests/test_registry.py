"""The approver registry through Python: claims count for nothing, registered keys and
declared attesters do, and verify lists what was written around the governor."""

from __future__ import annotations

import pytest

import lumenflow

POLICY = """\
version: 1
name: ops
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
    quorum: 2
"""


@pytest.fixture
def setup(tmp_path):
    policy = tmp_path / "ops.yaml"
    policy.write_text(POLICY)
    keys = {}
    for name in ["gov", "alice", "bob"]:
        lumenflow.generate_key(tmp_path / f"{name}.key")
        keys[name] = tmp_path / f"{name}.key"
    pub = {n: (tmp_path / f"{n}.key.pub").read_text() for n in keys}

    registry = tmp_path / "approvers.yaml"
    # Registry keys may be given as PEM public keys.
    def pem_block(text):
        return "\n".join("      " + line for line in text.strip().splitlines())

    registry.write_text(
        "version: 1\napprovers:\n"
        f"  - id: alice\n    roles: [lead]\n    keys:\n    - |\n{pem_block(pub['alice'])}\n"
        f"  - id: bob\n    roles: [lead]\n    keys:\n    - |\n{pem_block(pub['bob'])}\n"
    )
    return tmp_path, policy, keys, registry


def open_gov(tmp_path, policy, key, registry=None):
    return lumenflow.Governor(
        policy=policy, evidence=tmp_path / "ev", key=key, registry=registry
    )


def test_claimed_names_do_not_count_signed_votes_do(setup):
    tmp_path, policy, keys, registry = setup
    with open_gov(tmp_path, policy, keys["gov"], registry) as g:
        d = g.decide(tool="deploy", args={"v": 1}, actor="agent")
        assert d.verdict == "approval_required"
        # A name and a role are claims: refused.
        with pytest.raises(lumenflow.ApprovalError, match="claims|registered"):
            g.vote(d, {"id": "alice", "roles": ["lead"]}, "approve")
        req = g.approval(d)
        # A vote signed with bob's key but naming alice is refused.
        forged = lumenflow.sign_vote(keys["bob"], req, "approve", "alice")
        with pytest.raises(lumenflow.ApprovalError, match="names"):
            g.vote(d, "alice", "approve", signature=forged)
        for who in ["alice", "bob"]:
            sig = lumenflow.sign_vote(keys[who], req, "approve", who)
            r = g.vote(d, who, "approve", signature=sig)
        assert r["state"] == "approved"
        again = g.decide(tool="deploy", args={"v": 1}, actor="agent")
        assert again.verdict == "allow"


def test_attest_needs_a_declared_attester(setup):
    tmp_path, policy, keys, registry = setup
    with open_gov(tmp_path, policy, keys["gov"], registry) as g:
        d = g.decide(tool="deploy", args={"v": 2}, actor="agent")
        with pytest.raises(lumenflow.ApprovalError, match="does not declare"):
            g.attest(d, "alice", "approve", method="password")


def test_verify_lists_votes_that_do_not_count_under_the_registry(setup):
    tmp_path, policy, keys, registry = setup
    # The agent holds the governor's key and opens the log without a registry.
    with open_gov(tmp_path, policy, keys["gov"]) as g:
        d = g.decide(tool="deploy", args={"v": 3}, actor="agent")
        g.vote(d, {"id": "alice", "roles": ["lead"]}, "approve")
    pub = str(keys["gov"]) + ".pub"
    plain = lumenflow.verify(tmp_path / "ev", keys=pub)
    assert plain.exit_code == 0 and plain.uncounted == []
    judged = lumenflow.verify(tmp_path / "ev", keys=pub, registry=registry)
    assert judged.exit_code == 5
    assert any("attested (host)" in u for u in judged.uncounted), judged.uncounted
    # A governor under the registry folds it the same way.
    with open_gov(tmp_path, policy, keys["gov"], registry) as g:
        assert g.approval(d)["state"] == "pending"
        assert any("attested (host)" in r for r in g.rejected_records())


def test_trusted_keys_and_bad_registry(setup, tmp_path):
    tmp_path, policy, keys, registry = setup
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\napprovers:\n  - {id: x, keys: []}\n")
    with pytest.raises(lumenflow.Error, match="no key"):
        open_gov(tmp_path, policy, keys["gov"], bad)
    g = lumenflow.Governor(
        policy=policy,
        evidence=tmp_path / "ev2",
        key=keys["gov"],
        trusted_keys=[str(keys["bob"]) + ".pub"],
    )
    g.close()
