"""A small simulated agent calling guarded tools: allowed, denied, failing, approval then
retry, budget exhausted; then the evidence it wrote is verified."""

from __future__ import annotations

import asyncio

import pytest

import lumenflow
from conftest import records

POLICY = """\
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
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
  - id: llm
    effect: allow
    when: action.tool == "llm"
budgets:
  - id: session-cost
    per: session
    limit: 1.00
    unit: usd
    charge: action.cost
    on_exceed: deny
"""


@pytest.fixture
def agent(tmp_path, key):
    policy = tmp_path / "agent.yaml"
    policy.write_text(POLICY)
    gov = lumenflow.Governor(
        policy=policy, evidence=tmp_path / "ev", key=key, durability="none"
    )
    calls: list = []

    @gov.guard("bash", actor="agent-7", session="s-1")
    def bash(command: str, cwd: str = ".") -> str:
        calls.append(command)
        if command.startswith("false"):
            raise RuntimeError(f"{command}: exit 1")
        return f"ran {command}\n"

    @gov.guard("deploy", actor="agent-7", session="s-1")
    def deploy(env: str) -> str:
        calls.append(f"deploy {env}")
        return "deployed"

    @gov.guard("llm", actor="agent-7", session="s-1", cost=lambda args: args["price"])
    def llm(prompt: str, price: float) -> dict:
        calls.append(prompt)
        return {"text": prompt.upper()}

    yield gov, calls, bash, deploy, llm
    gov.close()


def test_allowed_call_runs_and_records_success_with_output_digest(agent, tmp_path):
    gov, calls, bash, _, _ = agent
    assert bash("git status") == "ran git status\n"
    assert calls == ["git status"]
    decision, outcome = records(tmp_path / "ev")
    assert decision["body"]["action"]["args"] == {"command": "git status", "cwd": "."}
    assert decision["body"]["action"]["actor"]["id"] == "agent-7"
    assert outcome["body"]["status"] == "success"
    assert outcome["body"]["output_digest"] == lumenflow.output_digest("ran git status\n")
    assert "duration_ms" in outcome["body"]
    assert bash.__name__ == "bash"  # functools.wraps


def test_denied_call_does_not_run_and_raises_with_the_decision(agent, tmp_path):
    gov, calls, bash, _, _ = agent
    with pytest.raises(lumenflow.Denied) as e:
        bash(command="git push --force origin main")
    assert calls == []
    assert isinstance(e.value, lumenflow.Error)
    assert e.value.decision.deciding_rules == [("agent", "no-force-push")]
    assert "force pushes rewrite shared history" in str(e.value)
    assert [r["body"].get("status") for r in records(tmp_path / "ev")] == [None, "denied"]


def test_failing_call_records_failure_with_the_exception_type_and_reraises(agent, tmp_path):
    _, _, bash, _, _ = agent
    with pytest.raises(RuntimeError, match="exit 1"):
        bash("false --now")
    outcome = records(tmp_path / "ev")[-1]["body"]
    assert outcome["status"] == "failure"
    assert outcome["error"] == "RuntimeError: false --now: exit 1"


def test_approval_then_retry(agent, tmp_path):
    gov, calls, _, deploy, _ = agent
    with pytest.raises(lumenflow.ApprovalRequired) as e:
        deploy("prod")
    assert calls == []
    req = e.value.request_id
    assert req and req == e.value.decision.id
    assert e.value.approvers == ["role:lead"]
    assert gov.approval(req)["state"] == "pending"

    # The proposer may not approve; someone without the role may not either.
    with pytest.raises(lumenflow.ApprovalError):
        gov.approve(req, {"id": "agent-7", "roles": ["lead"]}, "self-approval")
    with pytest.raises(lumenflow.ApprovalError, match="may not vote"):
        gov.approve(req, "mallory", "looks fine")
    # A different action is still not approved.
    with pytest.raises(lumenflow.ApprovalRequired):
        deploy("staging")

    state = gov.approve(req, {"id": "alice", "roles": ["lead"]}, "release window")
    assert state["state"] == "approved"
    assert deploy("prod") == "deployed"  # the retry is allowed, once
    assert calls == ["deploy prod"]
    assert gov.approval(req)["state"] == "used"
    with pytest.raises(lumenflow.ApprovalRequired):
        deploy("prod")
    assert [r["id"] for r in gov.approvals()][0] == req


def test_rejected_request_stays_refused(agent):
    gov, calls, _, deploy, _ = agent
    with pytest.raises(lumenflow.ApprovalRequired) as e:
        deploy("prod")
    gov.reject(e.value.request_id, {"id": "bob", "roles": ["lead"]}, "not today")
    with pytest.raises(lumenflow.ApprovalError, match="rejected"):
        gov.approve(e.value.request_id, {"id": "alice", "roles": ["lead"]}, "")
    assert calls == []


def test_budget_exhausted(agent):
    gov, calls, _, _, llm = agent
    assert llm("a", price=0.4) == {"text": "A"}
    assert llm("b", price=0.4) == {"text": "B"}
    with pytest.raises(lumenflow.BudgetExceeded) as e:
        llm("c", price=0.4)
    assert isinstance(e.value, lumenflow.Denied)
    assert e.value.decision.verdict == "budget_exceeded"
    assert any(c.get("budget") == "session-cost" for c in e.value.decision.budgets)
    assert calls == ["a", "b"]
    (status,) = gov.budgets()
    assert status["budget"] == "session-cost" and status["account"] == "s-1"
    assert status["spent"] == pytest.approx(0.8) and status["limit"] == 1.0


def test_the_agent_session_verifies_and_replays(agent, tmp_path, key):
    gov, _, bash, deploy, llm = agent
    bash("ls")
    with pytest.raises(lumenflow.Denied):
        bash("git push -f")
    with pytest.raises(RuntimeError):
        bash("false")
    with pytest.raises(lumenflow.ApprovalRequired) as e:
        deploy("prod")
    gov.approve(e.value.request_id, {"id": "alice", "roles": ["lead"]}, "ok")
    deploy("prod")
    llm("x", price=0.1)
    cp = gov.checkpoint()
    gov.close()

    report = lumenflow.verify(tmp_path / "ev", keys=[f"{key}.pub"], checkpoint=cp)
    assert report.valid, report.to_dict()
    assert report.completeness == "complete"
    assert report.kinds["decision"] == 6 and report.kinds["approval"] == 1

    replayed = lumenflow.replay(tmp_path / "ev", tmp_path / "agent.yaml")
    assert replayed["decisions"] == 6 and replayed["changed"] == 0

    # A stricter policy: replay shows which decisions would change.
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(POLICY.replace('when: action.tool == "bash"\n', 'when: "false"\n', 1))
    changed = lumenflow.replay(tmp_path / "ev", stricter)
    assert changed["changed"] >= 2


def test_async_guarded_tools(tmp_path, key, agent_policy):
    with lumenflow.Governor(policy=agent_policy, evidence=tmp_path / "ev", key=key) as gov:

        @gov.guard("bash", session="async")
        async def bash(command: str) -> str:
            await asyncio.sleep(0.001)
            if command == "boom":
                raise ValueError("boom")
            return command

        async def main():
            ok = await asyncio.gather(*(bash(f"echo {i}") for i in range(20)))
            assert ok == [f"echo {i}" for i in range(20)]
            with pytest.raises(lumenflow.Denied):
                await bash("git push --force")
            with pytest.raises(ValueError):
                await bash("boom")
            results = await asyncio.gather(
                bash("echo a"), bash("git push -f"), bash("boom"), return_exceptions=True
            )
            assert results[0] == "echo a"
            assert isinstance(results[1], lumenflow.Denied)
            assert isinstance(results[2], ValueError)

        assert asyncio.iscoroutinefunction(bash)
        asyncio.run(main())
    statuses = [r["body"]["status"] for r in records(tmp_path / "ev") if r["kind"] == "outcome"]
    assert statuses.count("success") == 21
    assert statuses.count("denied") == 2 and statuses.count("failure") == 2
    assert lumenflow.verify(tmp_path / "ev", keys=f"{key}.pub").valid


def test_guard_with_bad_arguments(gov):
    @gov.guard("read")
    def read(path: str) -> str:
        return path

    with pytest.raises(lumenflow.ActionError, match="read"):
        read()  # missing argument: refused before anything is decided
    with pytest.raises(lumenflow.ActionError, match="args.path"):
        read(object())  # not JSON
    with pytest.raises(lumenflow.Error, match="tool must be a str"):
        gov.guard(42)


def test_signed_votes_for_key_approvers(tmp_path, key):
    approver_key = tmp_path / "carol.key"
    carol = lumenflow.generate_key(approver_key)
    policy = tmp_path / "signed.yaml"
    policy.write_text(
        "version: 1\nname: signed\ndefault: deny\nrules:\n"
        "  - id: deploy\n    effect: require_approval\n    when: action.tool == \"deploy\"\n"
        f"    approvers: [\"key:{carol}\"]\n"
    )
    with lumenflow.Governor(policy=policy, evidence=tmp_path / "ev", key=key) as gov:
        d = gov.decide(tool="deploy", actor="agent-7", session="s-1")
        assert d.verdict == "approval_required"
        with pytest.raises(lumenflow.ApprovalError, match="may not vote"):
            gov.approve(d.request_id, "carol", "unsigned")  # a key: approver must sign
        req = gov.approval(d)
        # A signature over other words does not verify.
        forged = lumenflow.sign_vote(approver_key, req, "approve", "carol", "something else")
        with pytest.raises(lumenflow.ApprovalError, match="does not verify"):
            gov.vote(d, "carol", "approve", "ship it", signature=forged)
        sig = lumenflow.sign_vote(approver_key, req, "approve", "carol", "ship it")
        assert set(sig) == {"public_key", "signature"}
        state = gov.vote(d, "carol", "approve", "ship it", signature=sig)
        assert state["state"] == "approved"
        assert state["votes"][0]["key_id"] == carol
        assert gov.decide(tool="deploy", actor="agent-7", session="s-1").allowed
        with pytest.raises(lumenflow.Error, match="verdict"):
            gov.vote(d, "carol", "maybe")
    assert lumenflow.verify(tmp_path / "ev", keys=[f"{key}.pub"]).valid
