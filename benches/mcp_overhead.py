"""Per-call overhead of `lumenflow mcp` over a direct connection.

The same client (the official Python `mcp` package) calls the same tool of the same real
server (`@modelcontextprotocol/server-everything`'s `echo`, over stdio) N times directly
and N times through the proxy (an allow rule, every call decided, signed and recorded
with its outcome), in alternating rounds; prints the latency percentiles of each and the
difference of the medians. Run by scripts/test-mcp.sh (environment as for the tests):

    python benches/mcp_overhead.py [CALLS] [DURABILITY...]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

LUMENFLOW = os.environ["LUMENFLOW"]
SERVER = [str(Path(os.environ["MCP_BIN"]) / "mcp-server-everything"), "stdio"]
POLICY = """version: 1
name: bench
default: deny
rules:
  - id: echo
    effect: allow
    when: action.tool == "mcp:everything/echo"
"""


async def timed(params, calls):
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            for _ in range(20):  # warm up (JIT, page cache, evidence segment)
                await s.call_tool("echo", {"message": "warm"})
            out = []
            for i in range(calls):
                t = time.perf_counter()
                r = await s.call_tool("echo", {"message": f"call {i}"})
                out.append((time.perf_counter() - t) * 1e3)
                assert not r.is_error
            return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    durabilities = sys.argv[2:] or ["group", "none"]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "p.yaml").write_text(POLICY)
        subprocess.run([LUMENFLOW, "keygen", "--out", str(d / "k")], check=True, capture_output=True)
        direct = StdioServerParameters(command=SERVER[0], args=SERVER[1:], env=env)
        rows = {"direct": []}
        rounds = 5
        for r in range(rounds):
            rows["direct"] += anyio.run(timed, direct, calls // rounds)
            for dur in durabilities:
                proxied = StdioServerParameters(
                    command=LUMENFLOW,
                    args=["mcp", "--policy", str(d / "p.yaml"), "--evidence", str(d / f"ev-{dur}"),
                          "--key", str(d / "k"), "--server-name", "everything", "--durability", dur,
                          "--", *SERVER],
                    env=env,
                )
                rows.setdefault(f"proxy ({dur})", [])
                rows[f"proxy ({dur})"] += anyio.run(timed, proxied, calls // rounds)
    base = statistics.median(rows["direct"])
    print(f"{'path':<22} {'calls':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'p50 overhead ms':>16}")
    for name, xs in rows.items():
        over = statistics.median(xs) - base
        print(f"{name:<22} {len(xs):>6} {statistics.median(xs):>8.3f} {pct(xs, 90):>8.3f} "
              f"{pct(xs, 99):>8.3f} {'' if name == 'direct' else f'{over:+.3f}':>16}")


if __name__ == "__main__":
    main()
