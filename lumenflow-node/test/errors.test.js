'use strict';
// Bad input from JavaScript: always a thrown LumenflowError with a stable code and a
// message naming what is wrong, never a crash.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lf = require('..');
const { POLICY, scratch } = require('./helpers.js');

const set = lf.PolicySet.fromYaml(POLICY);

function throwsCode(f, code, pattern) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof lf.LumenflowError, `not a LumenflowError: ${e && e.stack}`);
    assert.ok(e instanceof Error);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('actions of the wrong shape', () => {
  throwsCode(() => set.decide(undefined), 'LUMENFLOW_INVALID', /action: must be an object/);
  throwsCode(() => set.decide('bash'), 'LUMENFLOW_INVALID', /action: must be an object, not string/);
  throwsCode(() => set.decide([1]), 'LUMENFLOW_INVALID', /not an array/);
  throwsCode(() => set.decide(null), 'LUMENFLOW_INVALID', /not null/);
  throwsCode(() => set.decide({ args: {} }), 'LUMENFLOW_ACTION', /missing field `tool`/);
  throwsCode(() => set.decide({ tool: 5 }), 'LUMENFLOW_ACTION', /invalid type/);
  throwsCode(() => set.decide({ tool: 'bash', args: [] }), 'LUMENFLOW_ACTION', /invalid type/);
  throwsCode(() => set.decide({ tool: 'bash', actor: 7 }), 'LUMENFLOW_ACTION', /actor must be/);
  throwsCode(() => set.decide({ tool: 'bash', colour: 'red' }), 'LUMENFLOW_ACTION', /unknown field `colour`/);
  throwsCode(() => set.decide({ tool: 'bash' }, 'ctx'), 'LUMENFLOW_INVALID', /context: must be an object/);
});

test('cyclic objects and BigInt', () => {
  const cyclic = { tool: 'bash', args: {} };
  cyclic.args.self = cyclic;
  throwsCode(() => set.decide(cyclic), 'LUMENFLOW_INVALID', /action: cannot be sent to LumenFlow as JSON: .*circular/i);
  throwsCode(() => set.decide({ tool: 'bash', args: { n: 10n } }), 'LUMENFLOW_INVALID', /BigInt/);
  throwsCode(() => set.decide({ tool: 'bash', cost: 1n }), 'LUMENFLOW_INVALID', /BigInt/);
  const ctx = {};
  ctx.me = ctx;
  throwsCode(() => set.decide({ tool: 'bash' }, ctx), 'LUMENFLOW_INVALID', /context/);
  throwsCode(() => lf.canonicalize(10n), 'LUMENFLOW_INVALID', /BigInt/);
  throwsCode(() => lf.canonicalize(undefined), 'LUMENFLOW_INVALID', /must be a JSON value/);
});

test('a wrapped tool given bad input throws before running', (t) => {
  const s = scratch(t);
  const gov = new lf.Governor({ policy: s.policy, evidence: s.evidence, key: s.key });
  let ran = 0;
  const bash = gov.wrap('bash', () => ran++);
  const cyclic = {};
  cyclic.c = cyclic;
  throwsCode(() => bash(cyclic), 'LUMENFLOW_INVALID', /circular/i);
  throwsCode(() => bash({ big: 2n ** 70n }), 'LUMENFLOW_INVALID', /BigInt/);
  throwsCode(() => bash('ls'), 'LUMENFLOW_ACTION', /invalid type: string "ls", expected a map/);
  assert.equal(ran, 0);
  throwsCode(() => gov.wrap('bash', 'not a function'), 'LUMENFLOW_INVALID', /fn must be a function/);
  throwsCode(() => gov.wrap('', () => 1), 'LUMENFLOW_INVALID', /tool/);
  throwsCode(() => gov.wrap('bash', () => 1, { sesion: 's' }), 'LUMENFLOW_INVALID', /unknown option `sesion`/);
  throwsCode(() => gov.record(42, { status: 'success' }), 'LUMENFLOW_INVALID', /decision id/);
  throwsCode(() => gov.record('x:1', { status: 'great' }), 'LUMENFLOW_INVALID', /unknown status `great`/);
  throwsCode(() => gov.record('x:1', { status: 'success', durationMs: -1 }), 'LUMENFLOW_INVALID', /durationMs/);
  throwsCode(() => gov.record('x:1', { status: 'success', output: 12 }), 'LUMENFLOW_INVALID', /output/);
  throwsCode(() => gov.record('nope:99', { status: 'success' }), 'LUMENFLOW_EVIDENCE', /unknown decision/);
  gov.close();
});

test('an async tool rejects (does not throw) on bad input and denial', async (t) => {
  const s = scratch(t);
  const gov = new lf.Governor({ policy: s.policy, evidence: s.evidence, key: s.key });
  const bash = gov.wrap('bash', async () => 'ok');
  const p = bash({ n: 1n });
  assert.ok(p instanceof Promise);
  await assert.rejects(p, (e) => e.code === 'LUMENFLOW_INVALID');
  const q = bash({ command: 'git push -f' });
  assert.ok(q instanceof Promise);
  await assert.rejects(q, lf.Denied);
  gov.close();
});

test('governor options', (t) => {
  const s = scratch(t);
  const base = { policy: s.policy, evidence: s.evidence, key: s.key };
  throwsCode(() => new lf.Governor(), 'LUMENFLOW_INVALID', /must be an object/);
  throwsCode(() => new lf.Governor({ ...base, evidence: undefined }), 'LUMENFLOW_INVALID', /options.evidence/);
  throwsCode(() => new lf.Governor({ ...base, policy: undefined }), 'LUMENFLOW_INVALID', /options.policy/);
  throwsCode(() => new lf.Governor({ ...base, policy: [s.policy, 3] }), 'LUMENFLOW_INVALID', /options.policy\[1\]/);
  throwsCode(() => new lf.Governor({ ...base, policies: {} }), 'LUMENFLOW_INVALID', /PolicySet/);
  throwsCode(() => new lf.Governor({ ...base, evidnce: 'x' }), 'LUMENFLOW_INVALID', /unknown option `evidnce`/);
  throwsCode(() => new lf.Governor({ ...base, durability: 'maybe' }), 'LUMENFLOW_INVALID', /durability|unknown variant/);
  throwsCode(() => new lf.Governor({ ...base, context: 'x' }), 'LUMENFLOW_ACTION', /context must be an object/);
  throwsCode(() => new lf.Governor({ ...base, key: path.join(s.dir, 'missing.key') }), 'LUMENFLOW_KEY', /missing.key/);
  fs.writeFileSync(path.join(s.dir, 'bad.key'), 'not a key');
  throwsCode(() => new lf.Governor({ ...base, key: path.join(s.dir, 'bad.key') }), 'LUMENFLOW_KEY', /bad.key: not a valid Ed25519/);
  fs.writeFileSync(path.join(s.dir, 'file'), '');
  throwsCode(() => new lf.Governor({ ...base, evidence: path.join(s.dir, 'file') }), 'LUMENFLOW_EVIDENCE');
});

test('async open rejects with the same errors', async (t) => {
  const s = scratch(t);
  await assert.rejects(
    lf.Governor.open({ policy: s.policy, evidence: s.evidence, key: path.join(s.dir, 'nope.key') }),
    (e) => e instanceof lf.KeyError && e.code === 'LUMENFLOW_KEY' && /nope.key/.test(e.message),
  );
  await assert.rejects(lf.Governor.open({ policy: 3 }), (e) => e.code === 'LUMENFLOW_INVALID');
  await assert.rejects(lf.verifyAsync(path.join(s.dir, 'nothing-here')), (e) => e.code === 'LUMENFLOW_EVIDENCE');
});

test('policy errors name the file, rule, line and column', (t) => {
  const s = scratch(t);
  const bad = path.join(s.dir, 'bad.yaml');
  fs.writeFileSync(bad, 'version: 1\nname: bad\nrules:\n  - id: r1\n    effect: allow\n    when: action.tool ==\n');
  assert.throws(
    () => lf.PolicySet.fromFiles(bad),
    (e) => {
      assert.ok(e instanceof lf.PolicyError);
      assert.equal(e.code, 'LUMENFLOW_POLICY');
      assert.match(e.message, /bad\.yaml:\d+:\d+: rule `r1`/);
      assert.equal(e.diagnostics[0].rule, 'r1');
      assert.equal(e.diagnostics[0].origin, bad);
      assert.equal(typeof e.diagnostics[0].line, 'number');
      return true;
    },
  );
  throwsCode(() => lf.PolicySet.fromFiles(path.join(s.dir, 'none.yaml')), 'LUMENFLOW_POLICY', /cannot read policy file/);
  throwsCode(() => lf.PolicySet.fromFiles(), 'LUMENFLOW_INVALID');
  throwsCode(() => lf.PolicySet.fromYaml({ text: 'version: 2\nname: x\n', origin: 'inline.yaml' }), 'LUMENFLOW_POLICY', /inline.yaml/);
  throwsCode(() => lf.PolicySet.fromYaml(12), 'LUMENFLOW_INVALID', /layer 0/);
  throwsCode(() => new lf.PolicySet({}), 'LUMENFLOW_INVALID', /fromFiles/);
});

test('verify and key options', (t) => {
  const s = scratch(t);
  throwsCode(() => lf.verify(7), 'LUMENFLOW_INVALID', /path/);
  throwsCode(() => lf.verify(s.dir, { kyes: [] }), 'LUMENFLOW_INVALID', /unknown option `kyes`/);
  throwsCode(() => lf.verify(s.dir, { keys: [1] }), 'LUMENFLOW_INVALID', /keys\[0\]/);
  throwsCode(() => lf.verify(s.dir, { keyPems: ['garbage'] }), 'LUMENFLOW_KEY', /keyPems\[0\]/);
  throwsCode(() => lf.verify(s.dir, { checkpointJson: '{' }), 'LUMENFLOW_INVALID', /checkpoint/);
  throwsCode(() => lf.verify(s.dir), 'LUMENFLOW_EVIDENCE', /not an evidence directory/);
  throwsCode(() => lf.verifyRecords(42), 'LUMENFLOW_INVALID', /records/);
  throwsCode(() => lf.verifyRecords('', {}), 'LUMENFLOW_INVALID', /trusted keys/);
  throwsCode(() => lf.generateKey(s.key), 'LUMENFLOW_KEY', /agent.key/); // never overwrites
  throwsCode(() => lf.exportEvidence(s.dir, path.join(s.dir, 'o'), 'xml'), 'LUMENFLOW_INVALID', /unknown export format/);
});

test('the native layer itself rejects wrong types with a code, never a crash', () => {
  const native = require('../native.js');
  for (const f of [
    () => native.NativePolicies.fromFiles(42),
    () => native.NativePolicies.fromTexts(['a'], [1]),
    () => native.canonicalize(Symbol('s')),
    () => native.verifyRecords('not a buffer'),
    () => native.NativeGovernor.open('d', {}, 'k'),
  ]) {
    assert.throws(f, (e) => e instanceof Error && typeof e.code === 'string');
  }
});
