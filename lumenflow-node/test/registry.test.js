'use strict';
// The approver registry from Node: names and roles in a vote are claims; a vote counts
// when signed by a registered key; verify lists what was written around the governor.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lf = require('..');
const { scratch } = require('./helpers.js');

const POLICY = `version: 1
name: ops
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
    quorum: 2
`;

function setup(t) {
  const dir = scratch(t).dir;
  const policy = path.join(dir, 'ops.yaml');
  fs.writeFileSync(policy, POLICY);
  const keys = {};
  for (const n of ['gov', 'alice', 'bob', 'other']) {
    keys[n] = path.join(dir, `${n}.key`);
    lf.generateKey(keys[n]);
  }
  const block = (n) => fs.readFileSync(`${keys[n]}.pub`, 'utf8').trim().split('\n').map((l) => `      ${l}`).join('\n');
  const registry = path.join(dir, 'approvers.yaml');
  fs.writeFileSync(
    registry,
    `version: 1\napprovers:\n  - id: alice\n    roles: [lead]\n    keys:\n    - |\n${block('alice')}\n  - id: bob\n    roles: [lead]\n    keys:\n    - |\n${block('bob')}\n`,
  );
  return { dir, policy, keys, registry };
}

test('claimed names do not count; signed votes by registered keys do', (t) => {
  const { dir, policy, keys, registry } = setup(t);
  const g = new lf.Governor({ policy, evidence: path.join(dir, 'ev'), key: keys.gov, registry });
  const d = g.decide({ tool: 'deploy', args: { v: 1 }, actor: 'agent' });
  assert.equal(d.verdict, 'approval_required');
  assert.throws(() => g.approve(d.id, { id: 'alice', roles: ['lead'] }), (e) => e.code === 'LUMENFLOW_APPROVAL');
  // This governor's key is no declared attester: its word about alice counts for nothing.
  assert.throws(() => g.attest(d.id, 'alice', 'approve', '', { method: 'password' }), /does not declare/);
  const req = g.approval(d.id);
  const forged = lf.signVote(keys.bob, req, 'approve', 'alice');
  assert.throws(() => g.vote(d.id, 'alice', 'approve', '', { signature: forged }), /names/);
  let r;
  for (const who of ['alice', 'bob']) {
    r = g.vote(d.id, who, 'approve', '', { signature: lf.signVote(keys[who], req, 'approve', who) });
  }
  assert.equal(r.state, 'approved');
  assert.equal(g.decide({ tool: 'deploy', args: { v: 1 }, actor: 'agent' }).verdict, 'allow');
  g.close();
});

test('verify lists votes that do not count under the registry', (t) => {
  const { dir, policy, keys, registry } = setup(t);
  const ev = path.join(dir, 'ev');
  const host = new lf.Governor({ policy, evidence: ev, key: keys.gov });
  const d = host.decide({ tool: 'deploy', args: { v: 2 }, actor: 'agent' });
  host.approve(d.id, { id: 'alice', roles: ['lead'] });
  host.close();
  const plain = lf.verify(ev, { keys: [`${keys.gov}.pub`] });
  assert.equal(plain.exit_code, 0);
  assert.deepEqual(plain.uncounted, []);
  const judged = lf.verify(ev, { keys: [`${keys.gov}.pub`], registry });
  assert.equal(judged.exit_code, 5);
  assert.ok(judged.uncounted.some((u) => u.includes('attested (host)')), judged.uncounted.join('\n'));
  const g = new lf.Governor({ policy, evidence: ev, key: keys.gov, registry, trustedKeys: [`${keys.other}.pub`] });
  assert.equal(g.approval(d.id).state, 'pending');
  assert.ok(g.rejectedRecords().some((r) => r.includes('attested (host)')));
  g.close();
});
