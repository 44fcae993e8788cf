"""The shared approval, budget and override scenarios (spec/vectors/approvals.json), run
step by step through the Python Governor."""

from __future__ import annotations

import json
import os

import pytest

import lumenflow
from conftest import VECTORS, records

DOC = json.loads((VECTORS / "approvals.json").read_text())
ERRORS = {
    "policy": lumenflow.PolicyError,
    "action": lumenflow.ActionError,
    "key": lumenflow.SigningKeyError,
    "evidence": lumenflow.EvidenceError,
    "approval": lumenflow.ApprovalError,
    "invalid": lumenflow.Error,
}


def test_there_are_enough_scenarios():
    assert len(DOC["scenarios"]) >= 6


def check_decision(ctx, d, e, names, outcome):
    if "verdict" in e:
        assert d.verdict == e["verdict"], f"{ctx}: {d.reason}"
    if "effect" in e:
        assert d.effect == e["effect"], f"{ctx}: {d.reason}"
    if "decided_by" in e:
        assert d.decided_by == e["decided_by"], f"{ctx}: {d.reason}"
    if "rules" in e:
        assert [f"{p}/{r}" for p, r in d.deciding_rules] == e["rules"], ctx
    if "request" in e:
        assert (d.approval or {}).get("request") == names[e["request"]], ctx
    if "outcome" in e:
        assert outcome == e["outcome"], ctx
    for want in e.get("budgets", []):
        got = next((c for c in d.budgets if c["budget"] == want["budget"]), None)
        assert got is not None, f"{ctx}: no charge for {want}"
        assert got["status"] == want["status"], f"{ctx}: {got}"
        for f in ("spent", "amount"):
            if f in want:
                assert got[f] == pytest.approx(want[f], abs=1e-9), f"{ctx}: {got}"


@pytest.mark.parametrize("sc", DOC["scenarios"], ids=[s["name"] for s in DOC["scenarios"]])
def test_scenario(sc, tmp_path):
    def pem_file(path, text):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    key = tmp_path / "k.key"
    if "governor_key" in sc:
        pem_file(key, sc["governor_key"])
        (tmp_path / "k.key.pub").write_text(sc["governor_public_key"])
    else:
        lumenflow.generate_key(key)
    registry = None
    if "registry" in sc:
        registry = tmp_path / "approvers.yaml"
        registry.write_text(sc["registry"])
    signers = {n: pem_file(tmp_path / f"{n}.key", pem) for n, pem in sc.get("keys", {}).items()}
    clock = lumenflow.ManualClock(DOC["start"])
    ev = tmp_path / "ev"
    policies = lumenflow.PolicySet.from_yaml(*sc["policies"], origin=sc["name"])
    gov = lumenflow.Governor(
        policy=policies, evidence=ev, key=key, durability="none", clock=clock, registry=registry
    )
    names: dict = {}
    for i, step in enumerate(sc["steps"]):
        ctx = f"{sc['name']}: step {i} {step['op']}"
        expect = step.get("expect")
        op = step["op"]

        def run():
            if op == "decide":
                d = gov.decide(step["action"])
                outcome = next(
                    (r["body"]["status"] for r in records(ev)
                     if r["kind"] == "outcome" and r["body"]["decision"] == d.id),
                    None,
                )
                if expect:
                    check_decision(ctx, d, expect, names, outcome)
                if "save" in step:
                    names[step["save"]] = d.id
                return None
            if op in ("approve", "reject"):
                req = names[step["request"]]
                if "sign" in step:
                    sig = lumenflow.sign_vote(
                        signers[step["sign"]], gov.approval(req), op,
                        step["approver"]["id"], step["reason"],
                    )
                    return gov.vote(req, step["approver"], op, step["reason"], signature=sig)
                fn = gov.approve if op == "approve" else gov.reject
                return fn(req, step["approver"], step["reason"])
            if op == "attest":
                return gov.attest(
                    names[step["request"]], step["approver_id"], step["verdict"],
                    step["reason"], method=step["method"],
                )
            if op == "request":
                return gov.approval(names[step["request"]])
            if op == "advance":
                clock.advance(step["seconds"])
                return None
            if op == "record":
                gov.record(
                    names[step["decision"]], step["status"],
                    cost=step.get("cost"), tokens=step.get("tokens"), error=step.get("error"),
                )
                return None
            if op == "override":
                d = gov.override_deny(names[step["decision"]], step["who"], step["reason"])
                if expect:
                    check_decision(ctx, d, expect, names, None)
                if "save" in step:
                    names[step["save"]] = d.id
                return None
            if op == "budgets":
                got = gov.budgets()
                for want in expect:
                    b = next(
                        (b for b in got
                         if b["budget"] == want["budget"] and b["account"] == want["account"]),
                        None,
                    )
                    assert b is not None, f"{ctx}: no account {want} in {got}"
                    assert b["spent"] == pytest.approx(want["spent"], abs=1e-9), f"{ctx}: {got}"
                return None
            raise AssertionError(f"{ctx}: unknown op")

        if "expect_error" in step:
            cls = ERRORS[step["expect_error"]]
            with pytest.raises(lumenflow.Error) as e:
                run()
            assert type(e.value) is cls, f"{ctx}: {e.value!r}"
            continue
        got = run()
        if got is not None and expect and op not in ("budgets",):
            for k, v in expect.items():
                assert got[k] == v, f"{ctx}: {k}: {got}"
    gov.close()
    report = lumenflow.verify(ev, keys=[str(key) + ".pub"])
    assert report.exit_code == 0, report.to_dict()
    # Without pinned keys: consistent, but who signed is not proven (exit 4).
    unpinned = lumenflow.verify(ev)
    assert unpinned.exit_code == 4 and not unpinned.valid, unpinned.to_dict()
