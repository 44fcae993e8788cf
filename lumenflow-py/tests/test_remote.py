"""lumenflow.connect(socket): the Governor API served by a real `lumenflow serve` daemon.

The daemon is the CLI binary of this build (LUMENFLOW_BIN, else target/debug/lumenflow)
with its own key, policy, registry and evidence directory, and its HTTP console on a
loopback port; approvals come from a person logged in to the console over HTTP, as a
browser would. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import pathlib
import socket as socketlib
import subprocess
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Optional

import pytest

import lumenflow

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = pathlib.Path(os.environ.get("LUMENFLOW_BIN", TARGET / "debug" / "lumenflow"))
ALICE_SECRET = "alice-secret-horse-battery"

POLICY = """\
version: 1
name: remote-test
default: deny
rules:
  - id: ls
    effect: allow
    when: action.tool == "bash" && shell.invokes(action.args.command, "ls|echo")
  - id: no-rm
    effect: deny
    when: action.tool == "bash" && shell.invokes(action.args.command, "rm")
    reason: no deleting
  - id: push-needs-lead
    effect: require_approval
    when: action.tool == "bash" && shell.invokes(action.args.command, "git push")
    reason: pushing needs a lead
    approvers: ["role:lead"]
"""


def _run(*args: str, stdin: Optional[str] = None) -> str:
    out = subprocess.run(
        [str(BIN), *args], input=stdin, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"lumenflow {' '.join(args)}: {out.stderr}"
    return out.stdout


def _free_port() -> int:
    with socketlib.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """A running `lumenflow serve` in a scratch directory."""

    def __init__(self, d: pathlib.Path) -> None:
        if not BIN.exists():
            pytest.fail(f"{BIN} is missing: build lumenflow-cli first (cargo build -p lumenflow-cli)")
        self.dir = d
        self.socket = d / "agent.sock"
        self.port = _free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.daemon_key_id = _keygen(d / "daemon.key")
        self.alice_key_id = _keygen(d / "alice.key")
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def write_config(self) -> None:
        d, daemon_key_id, alice_key_id = self.dir, self.daemon_key_id, self.alice_key_id
        (d / "registry.yaml").write_text(
            "version: 1\napprovers:\n"
            f"  - {{id: alice, roles: [lead], keys: ['{alice_key_id}']}}\n"
            f"attesters:\n  - {{key: '{daemon_key_id}', methods: [password]}}\n"
        )
        (d / "policy.yaml").write_text(POLICY)
        secret_hash = _run("hash-secret", stdin=ALICE_SECRET + "\n").strip()
        (d / "serve.yaml").write_text(
            f"socket: {self.socket}\nevidence: {d / 'evidence'}\nkey: {d / 'daemon.key'}\n"
            f"policies: [{d / 'policy.yaml'}]\nregistry: {d / 'registry.yaml'}\n"
            f"log: {d / 'daemon.log'}\nmax_wait_seconds: 30\n"
            f"http:\n  listen: 127.0.0.1:{self.port}\n"
            f"  people:\n    - {{id: alice, secret_hash: '{secret_hash}'}}\n"
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(self.dir / "serve.yaml")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "serve.stderr", "ab"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the daemon exited: {(self.dir / 'serve.stderr').read_text()}")
            try:
                lumenflow.connect(self.socket, timeout=2).close()
                urllib.request.urlopen(self.origin + "/api/session", timeout=2)
            except lumenflow.DaemonError:
                time.sleep(0.05)
                continue
            except urllib.error.HTTPError:
                return  # 401: the HTTP side answers too
            except OSError:
                time.sleep(0.05)
                continue
            return
        pytest.fail("the daemon did not come up in 20 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def _keygen(path: pathlib.Path) -> str:
    """Makes a key pair; returns its id (``ed25519:...``, as keygen prints it)."""
    first = _run("keygen", "--out", str(path)).split("\n")[0]
    assert first.startswith("key ed25519:"), first
    return first.split()[1]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("serve"))
    d.write_config()
    d.start()
    yield d
    d.stop()


class Console:
    """A person at the console: login, then votes with the session's CSRF token."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.csrf = ""

    def post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        req = urllib.request.Request(
            self.origin + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Origin": self.origin,
                "X-LumenFlow-CSRF": self.csrf,
            },
        )
        with self.opener.open(req, timeout=10) as r:
            return dict(json.loads(r.read()))

    def get(self, path: str) -> Dict[str, Any]:
        with self.opener.open(self.origin + path, timeout=10) as r:
            return dict(json.loads(r.read()))

    def login(self, who: str, secret: str) -> None:
        self.csrf = str(self.post("/api/login", {"id": who, "secret": secret})["csrf"])

    def vote(self, request: str, verdict: str, reason: str) -> Dict[str, Any]:
        binding = self.get(f"/api/requests/{request}")["binding"]
        return self.post(
            f"/api/requests/{request}/vote",
            {"verdict": verdict, "reason": reason, "binding": binding},
        )


def test_decide_and_record_through_the_daemon(daemon: Daemon) -> None:
    with lumenflow.connect(daemon.socket, session="py-1") as gov:
        assert gov.actor.startswith("unix:")
        assert gov.key_id.startswith("ed25519:")
        d = gov.decide(tool="bash", args={"command": "ls -la"}, session="py-1")
        assert d.allowed and d.verdict == "allow" and d.decided_by == "rule"
        assert d.id and d.hash and d.hash.startswith("sha256:")
        out = gov.record(d, "success", output=b"listing", duration=0.01)
        assert isinstance(out, str) and out != d.id
        denied = gov.decide({"tool": "bash", "args": {"command": "rm -rf build"}})
        assert not denied.allowed and denied.verdict == "deny"
        assert denied.deciding_rules == [("remote-test", "no-rm")]
        records = gov.log(session="py-1")
        ids = [r["id"] if "id" in r else None for r in records]
        kinds = [r.get("kind") for r in records]
        assert "decision" in kinds and "outcome" in kinds, (ids, kinds)
    assert gov.closed
    with pytest.raises(lumenflow.DaemonError, match="closed"):
        gov.decide(tool="bash", args={"command": "ls"})


def test_the_actor_is_the_kernels_not_the_claim(daemon: Daemon) -> None:
    with lumenflow.connect(daemon.socket) as gov:
        d = gov.decide(tool="bash", args={"command": "echo hi"}, actor="alice")
        assert d.allowed
        mine = [r for r in gov.log() if r.get("kind") == "decision"]
        actors = {r["body"]["action"]["actor"]["id"] for r in mine}
        assert actors == {gov.actor}, actors
        gov.record(d, "success")


def test_an_agent_cannot_record_twice_or_for_another_decision(daemon: Daemon) -> None:
    with lumenflow.connect(daemon.socket) as gov:
        d = gov.decide(tool="bash", args={"command": "ls"})
        gov.record(d, "success")
        with pytest.raises(lumenflow.Error):
            gov.record(d, "success")
        with pytest.raises(lumenflow.Error):
            gov.record("no-such-stream:99", "success")
        with pytest.raises(lumenflow.ActionError):
            gov.decide(tool="bash", args=[1])


def test_wait_for_approval_returns_when_a_person_approves_in_the_console(
    daemon: Daemon,
) -> None:
    with lumenflow.connect(daemon.socket, session="py-wait") as gov:
        push = {"tool": "bash", "args": {"command": "git push origin main"}, "session": "py-wait"}
        d = gov.decide(push)
        assert d.verdict == "approval_required" and d.request_id
        request = d.request_id
        assert gov.approval(request)["state"] == "pending"
        assert request in [r["id"] for r in gov.approvals()]
        # Nobody votes: the wait ends at its timeout with the request still pending.
        t0 = time.monotonic()
        assert gov.wait_for_approval(request, 0.3)["state"] == "pending"
        assert 0.25 <= time.monotonic() - t0 < 5

        result: Dict[str, Any] = {}

        def wait() -> None:
            result["info"] = gov.wait_for_approval(d, 20)

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.3)
        # Other calls go on while one thread waits (the wait has its own connection).
        other = gov.decide(tool="bash", args={"command": "ls"})
        gov.record(other, "success")
        assert waiter.is_alive(), "the wait returned before anyone voted"
        person = Console(daemon.origin)
        person.login("alice", ALICE_SECRET)
        person.vote(request, "approve", "reviewed the push")
        waiter.join(10)
        assert not waiter.is_alive(), "the waiting agent did not wake up"
        assert result["info"]["state"] == "approved"
        assert result["info"]["approvals"] == 1
        again = gov.decide(push)
        assert again.allowed, again.reason
        gov.record(again, "success")


def test_wait_for_approval_async_and_a_rejection(daemon: Daemon) -> None:
    async def scenario() -> Dict[str, Any]:
        gov = lumenflow.connect(daemon.socket)
        d = gov.decide(tool="bash", args={"command": "git push origin dev"})
        assert d.request_id
        person = Console(daemon.origin)
        person.login("alice", ALICE_SECRET)
        loop = asyncio.get_running_loop()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.02)

        t = asyncio.ensure_future(ticker())
        wait = asyncio.ensure_future(gov.wait_for_approval_async(d, 20))
        await asyncio.sleep(0.3)
        await loop.run_in_executor(None, person.vote, d.request_id, "reject", "not today")
        info = await wait
        t.cancel()
        assert ticks >= 5, "the event loop was blocked while waiting"
        again = gov.decide(tool="bash", args={"command": "git push origin dev"})
        gov.close()
        return {"info": info, "again": again}

    out = asyncio.run(scenario())
    assert out["info"]["state"] == "rejected"
    assert out["again"].verdict == "approval_required"


def test_guard_works_on_the_remote_governor(daemon: Daemon) -> None:
    with lumenflow.connect(daemon.socket) as gov:

        @gov.guard("bash")
        def bash(command: str) -> str:
            return f"ran {command}"

        assert bash("ls") == "ran ls"
        with pytest.raises(lumenflow.Denied):
            bash("rm -rf /")
        with pytest.raises(lumenflow.ApprovalRequired) as e:
            bash("git push origin x")
        assert e.value.request_id
        outcomes = [r for r in gov.log() if r.get("kind") == "outcome"]
        assert outcomes, "the guarded call's outcome was not recorded"


def test_agents_get_no_way_to_approve(daemon: Daemon) -> None:
    with lumenflow.connect(daemon.socket) as gov:
        for name in ("vote", "approve", "reject", "attest", "override_deny", "checkpoint"):
            assert not hasattr(gov, name), name
        d = gov.decide(tool="bash", args={"command": "git push origin y"})
        # The console refuses a vote without a login.
        req = urllib.request.Request(
            f"{daemon.origin}/api/requests/{d.request_id}/vote",
            data=json.dumps({"verdict": "approve", "reason": "me", "binding": ""}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Origin": daemon.origin},
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert e.value.code in (401, 403)
        assert gov.approval(d)["state"] == "pending"


def test_a_daemon_that_is_down_fails_closed(tmp_path: pathlib.Path) -> None:
    with pytest.raises(lumenflow.DaemonError, match="cannot connect"):
        lumenflow.connect(tmp_path / "nothing.sock", timeout=1)
    # A socket that accepts and never answers: the call times out, it does not hang.
    path = tmp_path / "silent.sock"
    server = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        t0 = time.monotonic()
        with pytest.raises(lumenflow.DaemonError):
            lumenflow.connect(path, timeout=0.3)
        assert time.monotonic() - t0 < 5
    finally:
        server.close()
    # A socket that answers garbage.
    path2 = tmp_path / "garbage.sock"
    bad = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    bad.bind(str(path2))
    bad.listen(1)

    def answer() -> None:
        conn, _ = bad.accept()
        conn.recv(4096)
        conn.sendall(b'{"id": 1, "ok": true, "result": {"protocol": "x"}}\n')
        conn.close()

    th = threading.Thread(target=answer)
    th.start()
    try:
        with pytest.raises(lumenflow.DaemonError, match="bad answer"):
            lumenflow.connect(path2, timeout=2)
    finally:
        th.join(5)
        bad.close()


def test_the_evidence_the_daemon_wrote_verifies(daemon: Daemon) -> None:
    with lumenflow.connect(daemon.socket) as gov:
        d = gov.decide(tool="bash", args={"command": "ls"})
        gov.record(d, "success")
    out = subprocess.run(
        [str(BIN), "verify", str(daemon.dir / "evidence"), "--key", str(daemon.dir / "daemon.key.pub")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
