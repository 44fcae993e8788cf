'use strict';
// Governed sessions from Node: decisions recorded before tools run, wrapped tools
// (sync and async, allowed, denied, needing approval, failing), then verification.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const lf = require('..');
const { POLICY, scratch, records } = require('./helpers.js');

const sha = (s) => `sha256:${crypto.createHash('sha256').update(s).digest('hex')}`;

test('a simulated agent loop with wrapped tools, then verify', async (t) => {
  const s = scratch(t);
  const gov = new lf.Governor({ policy: s.policy, evidence: s.evidence, key: s.key });
  assert.equal(gov.keyId, s.keyId);
  const ran = [];
  const bash = gov.wrap(
    'bash',
    async ({ command }) => {
      ran.push(command);
      if (command.startsWith('false')) throw new Error(`exit 1: ${command}`);
      return `ran ${command}\n`;
    },
    { actor: 'agent-7', session: 's-1' },
  );
  const read = gov.wrap('read', (p) => ({ path: p, bytes: 3 }), { args: (p) => ({ path: p }), actor: 'agent-7' });
  const http = gov.wrap('http', async ({ url }) => `fetched ${url}`, { actor: 'agent-7' });

  // Allowed: runs, result passes through unchanged.
  assert.equal(await bash({ command: 'cargo test' }), 'ran cargo test\n');
  const fromRead = read('README.md');
  assert.deepEqual(fromRead, { path: 'README.md', bytes: 3 }); // sync tool stays sync
  // Denied: does not run, rejects with Denied and the decision attached.
  await assert.rejects(bash({ command: 'git -C ../x push --force origin main' }), (e) => {
    assert.ok(e instanceof lf.Denied && e instanceof lf.LumenflowError && e instanceof Error);
    assert.equal(e.code, 'LUMENFLOW_DENIED');
    assert.equal(e.decision.effect, 'deny');
    assert.deepEqual(e.decision.decidingRules, [{ policy: 'agent-tools', rule: 'no-force-push' }]);
    assert.match(e.message, /force pushes rewrite shared history/);
    assert.match(e.decisionId, /:\d+$/);
    return true;
  });
  // Needs approval: does not run.
  await assert.rejects(http({ url: 'https://example.com' }), (e) => {
    assert.ok(e instanceof lf.ApprovalRequired);
    assert.equal(e.code, 'LUMENFLOW_APPROVAL_REQUIRED');
    assert.deepEqual(e.approvers, ['role:lead']);
    return true;
  });
  // A failing tool: its own error passes through unchanged, and the failure is recorded.
  const boom = await bash({ command: 'false now' }).catch((e) => e);
  assert.ok(boom instanceof Error && !(boom instanceof lf.LumenflowError));
  assert.equal(boom.message, 'exit 1: false now');
  // Not covered by any rule: default deny.
  const write = gov.wrap('write', () => 'written');
  assert.throws(() => write({ path: 'x' }), lf.Denied);

  assert.deepEqual(ran, ['cargo test', 'false now']);
  gov.close();
  assert.equal(gov.closed, true);

  const recs = records(s.evidence);
  const decisions = recs.filter((r) => r.kind === 'decision');
  const outcomes = recs.filter((r) => r.kind === 'outcome');
  assert.deepEqual(
    decisions.map((r) => [r.body.action.tool, r.body.decision.effect]),
    [
      ['bash', 'allow'],
      ['read', 'allow'],
      ['bash', 'deny'],
      ['http', 'require_approval'],
      ['bash', 'allow'],
      ['write', 'deny'],
    ],
  );
  assert.equal(decisions[0].body.action.actor.id, 'agent-7');
  assert.equal(decisions[0].body.action.session, 's-1');
  const byDecision = new Map(outcomes.map((o) => [o.body.decision, o.body]));
  const id = (r) => `${r.stream}:${r.seq}`;
  assert.equal(byDecision.get(id(decisions[0])).status, 'success');
  assert.equal(byDecision.get(id(decisions[0])).output_digest, sha('ran cargo test\n'));
  assert.equal(byDecision.get(id(decisions[1])).output_digest, sha(JSON.stringify(fromRead)));
  assert.equal(byDecision.get(id(decisions[2])).status, 'denied');
  assert.equal(byDecision.get(id(decisions[3])).status, 'awaiting_approval'); // never ran
  assert.equal(byDecision.get(id(decisions[4])).status, 'failure');
  assert.match(byDecision.get(id(decisions[4])).error, /exit 1: false now/);
  assert.equal(typeof byDecision.get(id(decisions[4])).duration_ms, 'number');

  const report = lf.verify(s.evidence, { keys: [s.pub] });
  assert.equal(report.exit_code, 0, JSON.stringify(report));
  assert.equal(report.integrity.verdict, 'valid');
  assert.equal(report.kinds.decision, 6);
  const again = await lf.verifyAsync(s.evidence, { keys: [s.pub] });
  assert.deepEqual(again, report);

  // Replay: the same policies decide the same; a looser one would have let the push through.
  const same = lf.PolicySet.fromFiles(s.policy).replay(s.evidence);
  assert.equal(same.decisions, 6);
  assert.equal(same.changed, 0);
  const looser = lf.PolicySet.fromYaml(POLICY.replace('effect: deny\n    when: action.tool == "bash"', 'effect: allow\n    when: action.tool == "bash"')).replay(s.evidence);
  assert.equal(looser.changed, 1, JSON.stringify(looser.entries.filter((e) => e.changed)));
  assert.equal(looser.entries.find((e) => e.changed).replayed.effect, 'allow');
});

test('async open, explicit decide and record, checkpoint, tamper detection', async (t) => {
  const s = scratch(t);
  const gov = await lf.Governor.open({
    policies: lf.PolicySet.fromFiles(s.policy),
    evidence: s.evidence,
    key: s.key,
    context: { worktree: s.dir },
    durability: 'none',
  });
  const d = gov.decide({ tool: 'bash', args: { command: 'ls' }, actor: { id: 'alice', roles: ['lead'], kind: 'human' } });
  assert.ok(d.allowed);
  assert.equal(d.decision.decidedBy, 'rule');
  assert.match(d.hash, /^sha256:[0-9a-f]{64}$/);
  const outId = gov.record(d.id, { status: 'success', output: Buffer.from('a\nb\n'), durationMs: 12 });
  assert.match(outId, /:\d+$/);
  // A decision can be closed only once.
  assert.throws(() => gov.record(d.id, { status: 'success' }), (e) => e.code === 'LUMENFLOW_EVIDENCE' || e.code === 'LUMENFLOW_INVALID');
  const cp = gov.checkpoint();
  assert.equal(cp.type, 'checkpoint');
  assert.equal(cp.seq, 1);
  gov.close();
  assert.throws(() => gov.decide({ tool: 'bash', args: {} }), (e) => e instanceof lf.InvalidArgumentError && /closed/.test(e.message));
  gov.close(); // twice is fine

  const cpPath = path.join(s.dir, 'kept-checkpoint.json');
  fs.writeFileSync(cpPath, JSON.stringify(cp));
  assert.equal(lf.verify(s.evidence, { keys: [s.pub], checkpoint: cpPath }).exit_code, 0);

  // Edit a recorded byte: integrity breaks at that record.
  const seg = path.join(s.evidence, 'segments');
  const file = path.join(seg, fs.readdirSync(seg).sort()[0]);
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace('"command":"ls"', '"command":"rm"'));
  const bad = lf.verify(s.evidence, { keys: [s.pub] });
  assert.equal(bad.exit_code, 1);
  assert.equal(bad.integrity.verdict, 'broken');
  assert.equal(bad.integrity.seq, 0);
  // Cut the tail: incomplete against the checkpoint kept elsewhere.
  fs.writeFileSync(file, text.split('\n')[0] + '\n');
  assert.equal(lf.verify(s.evidence, { keys: [s.pub], checkpointJson: cp }).exit_code, 2);
});

test('policy sets: layers, tests, export and bundle verification', (t) => {
  const s = scratch(t);
  const example = path.join(__dirname, '..', '..', 'examples', 'policies');
  const set = lf.PolicySet.fromFiles(path.join(example, 'software-delivery.yaml'));
  const d = set.decide({ tool: 'bash', args: { command: "bash -c 'git push -f'" } }, { worktree: '/repo' });
  assert.equal(d.effect, 'deny');
  assert.equal(d.decidingRules[0].rule, 'block-destructive-git');
  const report = set.runTests(path.join(example, 'software-delivery.tests.yaml'));
  assert.equal(report.failed, 0);
  assert.ok(report.passed > 10);

  const org = 'version: 1\nname: org\ndefault: allow\nrules:\n  - id: no-curl\n    effect: deny\n    when: action.tool == "bash" && shell.programs(action.args.command).exists(p, p == "curl")\n';
  const layered = lf.PolicySet.fromYaml({ text: org, origin: 'org.yaml' }, POLICY);
  assert.equal(layered.decide({ tool: 'bash', args: { command: 'curl x' } }).effect, 'deny');
  assert.equal(layered.decide({ tool: 'bash', args: { command: 'ls' } }).effect, 'allow');

  const gov = new lf.Governor({ policies: layered, evidence: s.evidence, key: s.key });
  gov.wrap('bash', (a) => a.command)({ command: 'ls' });
  gov.close();
  const bundle = path.join(s.dir, 'audit.lfb');
  assert.ok(lf.exportEvidence(s.evidence, bundle) >= 2);
  assert.equal(lf.verify(bundle, { keys: [s.pub] }).exit_code, 0);
  const other = path.join(s.dir, 'other.key');
  lf.generateKey(other);
  assert.equal(lf.verify(bundle, { keys: [`${other}.pub`] }).exit_code, 3);
});

test('the event loop keeps running while a large log verifies', async (t) => {
  const s = scratch(t);
  const gov = new lf.Governor({ policy: s.policy, evidence: s.evidence, key: s.key, durability: 'none' });
  const read = gov.wrap('read', (a) => a.path);
  for (let i = 0; i < 300; i++) read({ path: `f${i}` });
  gov.close();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const report = await lf.verifyAsync(s.evidence, { keys: [s.pub] });
  clearInterval(timer);
  assert.equal(report.exit_code, 0);
  assert.equal(report.records, 600); // 300 decisions and their 300 outcomes
  assert.ok(ticks > 0, 'timers ran while verifying');
});
