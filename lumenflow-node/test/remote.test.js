'use strict';
// connect(socket): the Governor API served by a real `lumenflow serve` daemon (the CLI
// binary of this build: LUMENFLOW_BIN, else target/debug/lumenflow), with its own key,
// policy, registry and evidence, and its console on a loopback port. Approvals come from
// a person logged in to the console over HTTP. Nothing is mocked.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const lf = require('..');

const REPO = path.resolve(__dirname, '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target');
const BIN = process.env.LUMENFLOW_BIN || path.join(TARGET, 'debug', 'lumenflow');
const SECRET = 'alice-secret-horse-battery';

const POLICY = `version: 1
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
`;

function run(args, input) {
  return execFileSync(BIN, args, { input, encoding: 'utf8' });
}

function keygen(file) {
  const first = run(['keygen', '--out', file]).split('\n')[0];
  assert.match(first, /^key ed25519:/);
  return first.split(' ')[1];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A running daemon in a scratch directory (stopped when the suite ends). */
async function startDaemon(t) {
  assert.ok(fs.existsSync(BIN), `${BIN} is missing: build lumenflow-cli first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lumenflow-serve-'));
  const daemonKey = keygen(path.join(dir, 'daemon.key'));
  const aliceKey = keygen(path.join(dir, 'alice.key'));
  fs.writeFileSync(
    path.join(dir, 'registry.yaml'),
    `version: 1\napprovers:\n  - {id: alice, roles: [lead], keys: ['${aliceKey}']}\nattesters:\n  - {key: '${daemonKey}', methods: [password]}\n`,
  );
  fs.writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
  const hash = run(['hash-secret'], `${SECRET}\n`).trim();
  const port = await freePort();
  const socket = path.join(dir, 'agent.sock');
  fs.writeFileSync(
    path.join(dir, 'serve.yaml'),
    `socket: ${socket}\nevidence: ${dir}/evidence\nkey: ${dir}/daemon.key\npolicies: [${dir}/policy.yaml]\n` +
      `registry: ${dir}/registry.yaml\nlog: ${dir}/daemon.log\nmax_wait_seconds: 30\n` +
      `http:\n  listen: 127.0.0.1:${port}\n  people:\n    - {id: alice, secret_hash: '${hash}'}\n`,
  );
  const proc = spawn(BIN, ['serve', '--config', path.join(dir, 'serve.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  t.after(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode !== null) throw new Error(`the daemon exited: ${stderr}`);
    try {
      lf.connect(socket, { timeoutMs: 2000 }).close();
      await fetch(`${origin}/api/session`);
      return { dir, socket, origin };
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`the daemon did not come up: ${stderr}`);
}

/** A person at the console: login, then votes with the session's CSRF token. */
async function consoleVote(origin, request, verdict, reason) {
  const headers = { 'Content-Type': 'application/json', Origin: origin };
  const login = await fetch(`${origin}/api/login`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ id: 'alice', secret: SECRET }),
  });
  assert.equal(login.status, 200);
  const { csrf } = await login.json();
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const shown = await (await fetch(`${origin}/api/requests/${request}`, { headers: { Cookie: cookie } })).json();
  const vote = await fetch(`${origin}/api/requests/${request}/vote`, {
    method: 'POST',
    headers: { ...headers, Cookie: cookie, 'X-LumenFlow-CSRF': csrf },
    body: JSON.stringify({ verdict, reason, binding: shown.binding }),
  });
  assert.equal(vote.status, 200, await vote.text());
}

test('connect: the Governor API decided by the daemon', async (t) => {
  const d = await startDaemon(t);

  await t.test('decide and record; the actor is the kernel\'s, not the claim', () => {
    const gov = lf.connect(d.socket, { session: 'node-1' });
    assert.match(gov.actor, /^unix:/);
    assert.match(gov.keyId, /^ed25519:/);
    const ok = gov.decide({ tool: 'bash', args: { command: 'ls -la' }, actor: 'alice', session: 'node-1' });
    assert.equal(ok.verdict, 'allow');
    assert.match(ok.hash, /^sha256:/);
    const out = gov.record(ok.id, { status: 'success', output: 'listing', durationMs: 3 });
    assert.notEqual(out, ok.id);
    const no = gov.decide({ tool: 'bash', args: { command: 'rm -rf build' } });
    assert.equal(no.verdict, 'deny');
    const records = gov.log({ session: 'node-1' });
    const decisions = records.filter((r) => r.kind === 'decision');
    assert.ok(decisions.length >= 1 && records.some((r) => r.kind === 'outcome'));
    for (const r of decisions) assert.equal(r.body.action.actor.id, gov.actor);
    assert.throws(() => gov.record(ok.id, { status: 'success' }), lf.LumenflowError);
    gov.close();
    assert.ok(gov.closed);
    assert.throws(() => gov.decide({ tool: 'bash', args: { command: 'ls' } }), lf.DaemonError);
  });

  await t.test('no way to approve through the agent API', () => {
    const gov = lf.connect(d.socket);
    for (const m of ['approve', 'reject', 'vote', 'attest', 'overrideDeny', 'checkpoint']) {
      assert.equal(typeof gov[m], 'undefined', m);
    }
    gov.close();
  });

  await t.test('waitForApprovalAsync resolves when a person approves in the console', async () => {
    const gov = lf.connect(d.socket);
    const push = { tool: 'bash', args: { command: 'git push origin main' } };
    const g = gov.decide(push);
    assert.equal(g.verdict, 'approval_required');
    assert.equal(gov.approval(g.request).state, 'pending');
    // Nobody votes: the blocking wait ends at its timeout, still pending.
    assert.equal(gov.waitForApproval(g.request, 200).state, 'pending');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const waiting = gov.waitForApprovalAsync(g.request, 20000);
    await sleep(300);
    // The main connection stays usable while the wait runs.
    const other = gov.decide({ tool: 'bash', args: { command: 'echo hi' } });
    gov.record(other.id, { status: 'success' });
    await consoleVote(d.origin, g.request, 'approve', 'reviewed');
    const info = await waiting;
    clearInterval(ticker);
    assert.ok(ticks >= 5, 'the event loop was blocked while waiting');
    assert.equal(info.state, 'approved');
    assert.equal(info.approvals, 1);
    const again = gov.decide(push);
    assert.equal(again.verdict, 'allow', again.decision.reason);
    gov.record(again.id, { status: 'success' });
    gov.close();
  });

  await t.test('wrap runs through the daemon', () => {
    const gov = lf.connect(d.socket);
    const bash = gov.wrap('bash', (a) => `ran ${a.command}`);
    assert.equal(bash({ command: 'ls' }), 'ran ls');
    assert.throws(() => bash({ command: 'rm -rf /' }), lf.Denied);
    assert.throws(() => bash({ command: 'git push origin x' }), lf.ApprovalRequired);
    gov.close();
  });

  await t.test('the daemon\'s evidence verifies with its key', () => {
    const out = execFileSync(BIN, ['verify', path.join(d.dir, 'evidence'), '--key', path.join(d.dir, 'daemon.key.pub')], {
      encoding: 'utf8',
    });
    assert.match(out, /valid/i);
  });
});

test('connect fails closed when the daemon is down or silent', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lumenflow-nosrv-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => lf.connect(path.join(dir, 'none.sock'), { timeoutMs: 500 }), lf.DaemonError);
  // A socket that accepts and never answers, served by a child process (this thread
  // blocks in connect). The call times out instead of hanging.
  const sock = path.join(dir, 'silent.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer(() => {}).listen(${JSON.stringify(sock)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill());
  await new Promise((r) => child.stdout.once('data', r));
  const t0 = Date.now();
  assert.throws(() => lf.connect(sock, { timeoutMs: 300 }), lf.DaemonError);
  assert.ok(Date.now() - t0 < 5000);
});
