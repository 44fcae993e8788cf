"""`lumenflow mcp` between the official Python MCP client and real npm MCP servers.

Each test starts the real proxy (stdio: as the client's server process; HTTP: fronting
server-everything's Streamable HTTP transport), calls tools, and checks what the client
got, what the server did (files on disk) and what the evidence log holds.
"""

import os
import re
import signal
import subprocess
import sys
from contextlib import asynccontextmanager

import anyio
import mcp.types as types
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import LUMENFLOW, MCP_BIN, REPO, children, free_port, wait_port

POLICY = REPO / "examples/policies/software-delivery.yaml"
pytestmark = pytest.mark.anyio
TIMEOUT = 40


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def decision_id(r):
    return f'{r["stream"]}:{r["seq"]}'


@asynccontextmanager
async def stdio_session(env, policy, server_name, server_cmd, *extra, cwd=None, **session_kw):
    params = StdioServerParameters(
        command=LUMENFLOW,
        args=env.proxy_args(policy, server_name, *extra) + ["--", *server_cmd],
        cwd=str(cwd or env.work),
        env={"PATH": os.environ["PATH"], "HOME": str(env.root)},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, **session_kw) as session:
            await session.initialize()
            yield session


def fs_server(env):
    # The server may write in the worktree AND outside it: only the policy keeps it in.
    return [str(MCP_BIN / "mcp-server-filesystem"), str(env.work), str(env.outside)]


def everything_server():
    return [str(MCP_BIN / "mcp-server-everything"), "stdio"]


async def test_allowed_write_runs_and_is_recorded_with_its_outcome(env):
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env)) as s:
            r = await s.call_tool("write_file", {"path": str(env.work / "notes.md"), "content": "written\n"})
            assert not r.is_error, text(r)
            # A relative path is resolved against the server's directory (the worktree).
            r2 = await s.call_tool("read_text_file", {"path": "README.md"})
            assert not r2.is_error, text(r2)
            assert "hello from the worktree" in text(r2)
    assert (env.work / "notes.md").read_text() == "written\n"
    [d] = env.decisions("mcp:fs/write_file")
    body = d["body"]
    assert body["decision"]["effect"] == "allow"
    assert body["action"]["metadata"]["file_access"] == "write"
    assert body["action"]["metadata"]["paths"] == [str(env.work / "notes.md")]
    assert env.outcome(decision_id(d))["status"] == "success"
    [r] = env.decisions("mcp:fs/read_text_file")
    assert r["body"]["action"]["args"]["path"] == str(env.work / "README.md")
    assert env.verify().returncode == 0, env.verify().stdout


async def test_a_failed_tool_is_recorded_as_failure(env):
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env)) as s:
            r = await s.call_tool("read_text_file", {"path": str(env.work / "missing.txt")})
            assert r.is_error
    [d] = env.decisions("mcp:fs/read_text_file")
    o = env.outcome(decision_id(d))
    assert o["status"] == "failure" and o.get("error"), o


async def test_denied_calls_return_the_reason_and_never_reach_the_server(env):
    target = env.outside / "planted.sh"
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env)) as s:
            r = await s.call_tool("write_file", {"path": str(target), "content": "id\n"})
            assert r.is_error
            assert "outside the worktree" in text(r) and "decision" in text(r)
            # Relative and dot-dot paths are resolved before the decision, not after.
            r = await s.call_tool("write_file", {"path": "../outside/planted.sh", "content": "id\n"})
            assert r.is_error and "outside the worktree" in text(r)
            r = await s.call_tool("move_file", {"source": str(env.work / "README.md"), "destination": str(target)})
            assert r.is_error
            r = await s.call_tool("write_file", {"path": str(env.work / ".git/config"), "content": "[core]\n"})
            assert r.is_error and "git internals" in text(r)
            # A token in the content: denied by the everywhere rule.
            r = await s.call_tool("write_file", {"path": str(env.work / "x.txt"),
                                                  "content": "t = 'ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5'"})
            assert r.is_error and "secret" in text(r)
            # The session is still usable after denials.
            ok = await s.call_tool("list_directory", {"path": str(env.work)})
            assert not ok.is_error
    assert not target.exists()
    assert (env.work / "README.md").exists()
    assert not (env.work / ".git/config").exists()
    assert not (env.work / "x.txt").exists()
    denied = env.decisions("mcp:fs/write_file") + env.decisions("mcp:fs/move_file")
    assert len(denied) == 5
    for d in denied:
        assert d["body"]["decision"]["effect"] == "deny"
        assert env.outcome(decision_id(d))["status"] == "denied"
    assert env.verify().returncode == 0


async def test_bad_arguments_are_refused_and_recorded(env):
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env)) as s:
            r = await s.call_tool("write_file", {"path": 3, "content": "x"})
            assert r.is_error and "argument `path`" in text(r)
            r = await s.call_tool("read_multiple_files", {"paths": [str(env.work / "README.md"), "~root/.ssh/id_rsa"]})
            assert r.is_error and "paths[1]" in text(r)
    refused = [r for r in env.records() if r["kind"] == "decision" and "mcp_error" in r["body"]["action"]["metadata"]]
    assert len(refused) == 2
    assert all(r["body"]["decision"]["effect"] == "deny" for r in refused)
    assert env.verify().returncode == 0


async def test_require_approval_names_the_request_and_an_approved_retry_runs(env):
    plan = env.outside / "secret-plan.txt"
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env)) as s:
            r = await s.call_tool("read_text_file", {"path": str(plan)})
            assert r.is_error
            m = re.search(r"Approval request (\S+) is open", text(r))
            assert m, text(r)
            request = m.group(1)
            assert "lumenflow approve" in text(r)
            # Not approved yet: the retry asks again (a new request), still not run.
            again = await s.call_tool("read_text_file", {"path": str(plan)})
            assert again.is_error
            env.approve(request)
            done = await s.call_tool("read_text_file", {"path": str(plan)})
            assert not done.is_error, text(done)
            assert "outside the worktree" in text(done)
            # The approval covers the identical call only.
            other = await s.call_tool("read_text_file", {"path": str(plan), "head": 1})
            assert other.is_error and "Approval request" in text(other)
    ds = env.decisions("mcp:fs/read_text_file")
    assert [d["body"]["decision"]["effect"] for d in ds] == [
        "require_approval", "require_approval", "allow", "require_approval"]
    assert ds[2]["body"]["decision"]["decided_by"] == "approval"
    assert env.outcome(decision_id(ds[2]))["status"] == "success"
    assert env.verify().returncode == 0


async def _elicit(answer):
    asked = []

    async def callback(ctx, params):
        asked.append(params.message)
        return answer

    return asked, callback


async def test_require_approval_asks_through_elicitation_and_records_who_answered(env):
    plan = env.outside / "secret-plan.txt"
    asked, yes = await _elicit(types.ElicitResult(action="accept", content={"approve": True}))
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env), elicitation_callback=yes) as s:
            r = await s.call_tool("read_text_file", {"path": str(plan)})
            assert not r.is_error, text(r)
            assert "outside the worktree" in text(r)
    assert len(asked) == 1 and "needs approval" in asked[0]
    [d] = env.decisions("mcp:fs/read_text_file")
    assert d["body"]["decision"]["effect"] == "require_approval"
    assert d["body"].get("host_approves") is True
    [a] = [r for r in env.records() if r["kind"] == "host_answer"]
    assert a["body"]["decision"] == decision_id(d)
    assert a["body"]["answer"] == "allow" and a["body"]["answered_by"] == "user"
    assert "elicitation" in a["body"]["via"]
    assert env.outcome(decision_id(d))["status"] == "success"
    assert env.verify().returncode == 0


@pytest.mark.parametrize("answer", [
    types.ElicitResult(action="decline"),
    types.ElicitResult(action="cancel"),
    types.ElicitResult(action="accept", content={"approve": False}),
])
async def test_a_refused_elicitation_does_not_run_the_call(env, answer):
    target = env.work / ".github/workflows/ci.yml"
    asked, no = await _elicit(answer)
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, POLICY, "fs", fs_server(env), elicitation_callback=no) as s:
            (env.work / ".github/workflows").mkdir(parents=True)
            r = await s.call_tool("write_file", {"path": str(target), "content": "on: push\n"})
            assert r.is_error and "not approved" in text(r)
    assert asked and not target.exists()
    [d] = env.decisions("mcp:fs/write_file")
    assert env.outcome(decision_id(d))["status"] == "denied"
    [a] = [r for r in env.records() if r["kind"] == "host_answer"]
    assert a["body"]["answer"] == "deny"


async def test_tools_list_hides_only_what_is_denied_whatever_the_arguments(env):
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, env.everything_policy, "everything", everything_server()) as s:
            everything = {t.name for t in (await s.list_tools()).tools}
        async with stdio_session(env, env.everything_policy, "everything", everything_server(),
                                 "--hide-denied") as s:
            shown = {t.name for t in (await s.list_tools()).tools}
            # Hidden is not allowed: a call of a hidden tool is still decided (denied).
            r = await s.call_tool("get-env", {})
            assert r.is_error and "the environment holds secrets" in text(r)
    assert {"echo", "get-env", "get-sum", "trigger-long-running-operation"} <= everything
    assert shown == {"echo", "get-sum", "trigger-long-running-operation"}, shown
    # With the shipped policy nothing of a filesystem server is denied outright.
    async with stdio_session(env, POLICY, "fs", fs_server(env), "--hide-denied") as s:
        fs_tools = {t.name for t in (await s.list_tools()).tools}
    assert {"read_text_file", "write_file", "move_file"} <= fs_tools


async def test_everything_else_passes_through(env):
    progress = []

    async def on_progress(p, total, message):
        progress.append(p)

    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, env.everything_policy, "everything", everything_server()) as s:
            prompts = await s.list_prompts()
            assert prompts.prompts
            resources = await s.list_resources()
            assert resources.resources
            read = await s.read_resource(resources.resources[0].uri)
            assert read.contents
            echo = await s.call_tool("echo", {"message": "through the proxy"})
            assert not echo.is_error and "through the proxy" in text(echo)
            long = await s.call_tool("trigger-long-running-operation", {"duration": 1, "steps": 3},
                                     progress_callback=on_progress)
            assert not long.is_error, text(long)
            await s.send_ping()
    assert len(progress) == 3, progress
    [d] = env.decisions("mcp:everything/echo")
    assert env.outcome(decision_id(d))["status"] == "success"


async def test_a_server_crash_gives_errors_not_a_hang(env):
    with anyio.fail_after(TIMEOUT):
        async with stdio_session(env, env.everything_policy, "everything", everything_server()) as s:
            ok = await s.call_tool("echo", {"message": "before"})
            assert not ok.is_error
            proxies = [p for p in children(os.getpid())]
            servers = [c for p in proxies for c in children(p)]
            assert servers, "the proxy's server process was not found"
            for pid in servers:
                os.kill(pid, signal.SIGKILL)
            await anyio.sleep(0.5)
            try:
                r = await s.call_tool("echo", {"message": "after"})
                assert r.is_error, text(r)
            except Exception as e:  # an MCP error answer is an error too, not a hang
                assert "LumenFlow" in str(e) or "closed" in str(e).lower(), e
    [before, after] = env.decisions("mcp:everything/echo")
    assert env.outcome(decision_id(before))["status"] == "success"
    assert env.outcome(decision_id(after))["status"] in ("failure", "unknown")
    assert env.verify().returncode == 0


@asynccontextmanager
async def http_world(env, *extra):
    port = free_port()
    server = subprocess.Popen(
        everything_server()[:1] + ["streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    proxy = None
    try:
        wait_port(port, server)
        proxy = subprocess.Popen(
            [LUMENFLOW, *env.proxy_args(env.everything_policy, "everything", *extra),
             "--url", f"http://127.0.0.1:{port}/mcp", "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = proxy.stderr.readline()
        m = re.search(r"serving Streamable HTTP on (http://\S+)", line)
        assert m, line
        yield m.group(1), server
    finally:
        for p in (proxy, server):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


async def test_streamable_http_governs_calls(env):
    with anyio.fail_after(TIMEOUT):
        async with http_world(env, "--hide-denied") as (url, _server):
            async with streamable_http_client(url) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    shown = {t.name for t in (await s.list_tools()).tools}
                    assert "get-env" not in shown and "echo" in shown
                    ok = await s.call_tool("echo", {"message": "over http"})
                    assert not ok.is_error and "over http" in text(ok)
                    no = await s.call_tool("get-env", {})
                    assert no.is_error and "the environment holds secrets" in text(no)
                    ask = await s.call_tool("get-sum", {"a": 1, "b": 2})
                    assert ask.is_error and "Approval request" in text(ask)
    [d] = env.decisions("mcp:everything/echo")
    assert env.outcome(decision_id(d))["status"] == "success"
    assert env.decisions("mcp:everything/get-env")[0]["body"]["decision"]["effect"] == "deny"
    assert env.verify().returncode == 0


async def test_streamable_http_server_down_gives_errors_not_a_hang(env):
    with anyio.fail_after(TIMEOUT):
        async with http_world(env) as (url, server):
            async with streamable_http_client(url) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    assert not (await s.call_tool("echo", {"message": "up"})).is_error
                    server.kill()
                    server.wait(10)
                    try:
                        r = await s.call_tool("echo", {"message": "down"})
                        assert r.is_error, text(r)
                    except Exception as e:
                        assert "LumenFlow" in str(e) or "connect" in str(e).lower(), e
    assert env.verify().returncode == 0


def test_the_proxy_refuses_bad_options(env):
    from conftest import run
    r = run(LUMENFLOW, *env.proxy_args(POLICY, "f/s"), "--", "true", check=False)
    assert r.returncode == 1 and "server name" in r.stderr
    r = run(LUMENFLOW, *env.proxy_args(POLICY, "fs"), "--url", "https://example.invalid/mcp",
            "--listen", "127.0.0.1:0", check=False)
    assert r.returncode == 1 and "http://" in r.stderr
    r = run(LUMENFLOW, *env.proxy_args(POLICY, "fs"), "--url", "http://127.0.0.1:9/mcp",
            "--listen", "0.0.0.0:0", check=False)
    assert r.returncode == 1 and "loopback" in r.stderr
    r = run(LUMENFLOW, *env.proxy_args(POLICY, "fs"), check=False)
    assert r.returncode == 1 and "after `--`" in r.stderr
