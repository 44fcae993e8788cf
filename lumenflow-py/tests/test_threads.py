"""One Governor shared by many threads; decide and record release the GIL."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import lumenflow
from conftest import EXAMPLE_POLICY, records


def test_threads_hammering_one_governor(tmp_path, key, agent_policy):
    threads, per_thread = 8, 40
    ev = tmp_path / "ev"
    with lumenflow.Governor(policy=agent_policy, evidence=ev, key=key) as gov:

        def worker(t: int) -> list:
            ids = []
            for i in range(per_thread):
                command = "git push -f" if i % 10 == 0 else f"echo {t}-{i}"
                d = gov.decide(tool="bash", args={"command": command}, session=f"t{t}")
                if d.allowed:
                    gov.record(d, "success", output=command)
                ids.append((d.id, d.effect))
            return ids

        with ThreadPoolExecutor(threads) as pool:
            results = [x for r in pool.map(worker, range(threads)) for x in r]
        cp = gov.checkpoint()

    assert len({i for i, _ in results}) == threads * per_thread  # every id distinct
    denied = sum(1 for _, e in results if e == "deny")
    assert denied == threads * per_thread // 10
    recs = records(ev)
    # One chain: sequence numbers are 0..n-1 in file order, each linking to the previous.
    assert [r["seq"] for r in recs] == list(range(len(recs)))
    for prev, rec in zip(recs, recs[1:]):
        assert rec["prev"] == prev["hash"]
    outcomes = [r for r in recs if r["kind"] == "outcome"]
    assert len(outcomes) == threads * per_thread  # every decision closed exactly once
    report = lumenflow.verify(ev, keys=[f"{key}.pub"], checkpoint=cp)
    assert report.valid and report.records == len(recs)


def _main_thread_waits_for(call, n: int = 2000) -> int:
    """Runs `call` n times in a thread, with forced GIL switches switched off, and returns
    how many calls had finished when the main thread got the GIL back. A call that holds
    the GIL throughout lets the main thread in only once the loop is over (n); one that
    releases it lets the main thread in during the first calls."""
    done = [0]
    started = threading.Event()

    def worker():
        started.set()
        for _ in range(n):
            call()
            done[0] += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        time.sleep(0.001)  # gives up the GIL; we come back when the worker lets us
        seen = done[0]
        t.join()
    finally:
        sys.setswitchinterval(old)
    return seen


def test_decide_releases_the_gil(tmp_path, key, agent_policy):
    ps = lumenflow.PolicySet(EXAMPLE_POLICY)
    # The control: a call that holds the GIL keeps the main thread out until the end.
    assert _main_thread_waits_for(lambda: sum(range(50))) == 2000
    seen = _main_thread_waits_for(
        lambda: ps.decide(tool="bash", args={"command": "ls"}, context={"worktree": "/w"})
    )
    assert seen < 2000
    with lumenflow.Governor(
        policy=agent_policy, evidence=tmp_path / "ev", key=key, durability="none"
    ) as gov:
        seen = _main_thread_waits_for(
            lambda: gov.record(gov.decide(tool="read"), "success"), n=200
        )
    assert seen < 200


def test_policy_set_shared_across_threads_agrees_with_itself():
    ps = lumenflow.PolicySet(EXAMPLE_POLICY)
    actions = [
        {"tool": "bash", "args": {"command": "git reset --hard"}},
        {"tool": "bash", "args": {"command": "ls -la"}},
        {"tool": "write", "args": {"path": "/w/src/a.py", "content": "x"}},
        {"tool": "write", "args": {"path": "/etc/passwd", "content": "x"}},
    ]
    expected = [ps.decide(a, context={"worktree": "/w"}).effect for a in actions]

    def run(_):
        return [ps.decide(a, context={"worktree": "/w"}).effect for a in actions]

    with ThreadPoolExecutor(8) as pool:
        for got in pool.map(run, range(200)):
            assert got == expected
