"""Type-checked with `mypy --strict` by test_typing.py: the public API as a user writes it."""

from __future__ import annotations

import asyncio
from typing import Optional

import lumenflow


def main(policy: str, evidence: str, key: str) -> int:
    gov = lumenflow.Governor(policy=policy, evidence=evidence, key=key, context={"worktree": "/w"})
    d: lumenflow.Decision = gov.decide(tool="bash", args={"command": "ls"}, actor="agent-7")
    if d.allowed:
        out_id: str = gov.record(d, "success", output=b"ok", duration=0.1)
        print(out_id)
    rid: Optional[str] = d.request_id
    if rid is not None:
        state = gov.approve(rid, {"id": "alice", "roles": ["lead"]}, "ok")
        print(state["state"])

    @gov.guard("bash", session="s-1")
    def bash(command: str) -> str:
        return command

    @gov.guard("http")
    async def fetch(url: str) -> bytes:
        return url.encode()

    try:
        text: str = bash(command="git status")
        print(text, asyncio.run(fetch("https://x")))
    except lumenflow.ApprovalRequired as e:
        print(e.request_id, e.approvers)
    except lumenflow.Denied as e:
        print(e.decision.reason)
    cp = gov.checkpoint()
    gov.close()
    report: lumenflow.VerifyReport = lumenflow.verify(evidence, keys=[key + ".pub"], checkpoint=cp)
    rules: list[tuple[str, str]] = d.deciding_rules
    print(rules, lumenflow.canonicalize({"b": 1, "a": [1.5]}))
    ps = lumenflow.PolicySet(policy)
    print(ps.decide({"tool": "read"}).effect)
    return report.exit_code


def remote_agent(socket: str) -> str:
    with lumenflow.connect(socket, timeout=5.0, session="s-2") as gov:
        d = gov.decide(tool="bash", args={"command": "git push"})
        if d.request_id is not None:
            info = gov.wait_for_approval(d, 60.0)
            print(info["state"])
        gov.record(d, "success")
        return gov.actor


async def remote_wait(socket: str, request: str) -> str:
    gov = lumenflow.connect(socket)
    info = await gov.wait_for_approval_async(request, 10.0)
    return str(info["state"])
