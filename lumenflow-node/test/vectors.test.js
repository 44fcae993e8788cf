'use strict';
// The shared spec/vectors suite, run through the Node package: decisions, evidence
// (the signed log and its tampered copies, with their verdicts), RFC 8785 and C2SP's
// Ed25519 edge cases.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lf = require('..');

const VECTORS = path.join(__dirname, '..', '..', 'spec', 'vectors');
const read = (p) => fs.readFileSync(path.join(VECTORS, p), 'utf8');

test('decision vectors (spec/vectors/decide.json)', () => {
  const doc = JSON.parse(read('decide.json'));
  let ran = 0;
  for (const suite of doc.suites) {
    const set = lf.PolicySet.fromYaml(suite.policies.map((text, i) => ({ text, origin: `${suite.name}[${i}]` })));
    for (const c of suite.cases) {
      const name = `${suite.name} / ${c.name}`;
      const d = set.decide(c.action, c.context);
      const e = c.expect;
      assert.equal(d.effect, e.effect, name);
      assert.equal(d.allowed, e.effect === 'allow', name);
      assert.equal(d.decidedBy, e.decided_by, name);
      assert.deepEqual(d.decidingRules.map((r) => [r.policy, r.rule]), e.deciding_rules, name);
      assert.equal(d.errors.length, e.errors, name);
      assert.equal(d.warnings.length, e.warnings, name);
      if (e.approvers !== undefined) assert.deepEqual(d.approvers, e.approvers, name);
      assert.equal(d.toJSON().effect, e.effect, name);
      ran += 1;
    }
  }
  assert.ok(ran >= 30, `only ${ran} vectors ran`);
});

const records = JSON.parse(read('evidence/records.json'));
const checkpointJson = read('evidence/checkpoint.json');
const verdicts = JSON.parse(read('evidence/tampered/verdicts.json'));

test('evidence vectors: the log verifies with the vector key and checkpoint', () => {
  const report = lf.verifyRecords(fs.readFileSync(path.join(VECTORS, 'evidence/log.jsonl')), {
    keyPems: [records.public_key_pem],
    checkpointJson,
  });
  assert.equal(report.exit_code, 0, JSON.stringify(report));
  assert.equal(report.integrity.verdict, 'valid');
  assert.equal(report.completeness.verdict, 'complete');
  assert.equal(report.stream, records.stream);
  assert.equal(report.records, records.records.length);
  assert.equal(report.head.hash, records.records.at(-1).hash);
});

test('evidence vectors: attested bytes are RFC 8785 canonical', () => {
  for (const r of records.records) {
    assert.equal(lf.canonicalize(JSON.parse(r.attested_canonical)), r.attested_canonical, `seq ${r.seq}`);
  }
});

for (const c of verdicts.cases) {
  for (const mode of ['sync', 'async']) {
    test(`evidence vectors: ${c.file} gets exit ${c.exit_code} (${mode})`, async () => {
      const data = fs.readFileSync(path.join(VECTORS, 'evidence', c.file));
      const opts = { keyPems: [records.public_key_pem], checkpointJson };
      const report = mode === 'sync' ? lf.verifyRecords(data, opts) : await lf.verifyRecordsAsync(data, opts);
      assert.equal(report.exit_code, c.exit_code, JSON.stringify(report));
      const seq = report.integrity.verdict === 'broken' ? report.integrity.seq : null;
      assert.equal(seq, c.broken_seq, JSON.stringify(report));
    });
  }
}

test('evidence vectors: a log signed by another key is not trusted', () => {
  const data = fs.readFileSync(path.join(VECTORS, 'evidence/log.jsonl'));
  const report = lf.verifyRecords(data, { keyPems: [records.other_public_key_pem] });
  assert.notEqual(report.exit_code, 0);
});

test('RFC 8785 published vectors', () => {
  const names = fs.readdirSync(path.join(VECTORS, 'rfc8785/input'));
  assert.ok(names.length >= 6);
  for (const name of names) {
    const input = JSON.parse(read(`rfc8785/input/${name}`));
    const expected = fs.readFileSync(path.join(VECTORS, `rfc8785/output/${name}`));
    assert.deepEqual(Buffer.from(lf.canonicalize(input)), expected, name);
  }
});

test('RFC 8785 numbers (20,000 ECMAScript serialisations)', () => {
  const lines = read('rfc8785/numbers.txt').split('\n').filter(Boolean);
  assert.ok(lines.length >= 20000);
  const buf = Buffer.alloc(8);
  const bad = [];
  for (const line of lines) {
    const [hex, expected] = line.split(',');
    buf.writeBigUInt64BE(BigInt(`0x${hex}`));
    const n = buf.readDoubleBE(0);
    if (!Number.isFinite(n)) continue; // not representable in JSON
    const got = lf.canonicalize(n);
    if (got !== expected) bad.push(`${hex}: ${got} != ${expected}`);
  }
  assert.deepEqual(bad.slice(0, 10), []);
});

// C2SP's Ed25519 edge cases (spec/vectors/ed25519-cctv/) under the strict rule: a vector
// verifies iff its only edge cases are low-order components (as the core test checks).
const ed25519 = JSON.parse(read('ed25519-cctv/ed25519vectors.json'));
const LOW_ORDER_COMPONENTS = ['low_order_component_A', 'low_order_component_R'];

test('Ed25519 edge-case vectors (C2SP, 914) under the strict rule', () => {
  assert.equal(ed25519.length, 914);
  const counts = { true: 0, false: 0 };
  for (const v of ed25519) {
    const flags = v.flags ?? [];
    const expected = flags.every((f) => LOW_ORDER_COMPONENTS.includes(f));
    const got = lf.verifySignature(v.key, v.msg, v.sig);
    assert.equal(got, expected, `vector ${v.number} with flags ${JSON.stringify(flags)}`);
    assert.equal(lf.verifySignature(v.key, Buffer.from(v.msg), v.sig), got, `vector ${v.number} (Buffer)`);
    counts[got] += 1;
  }
  assert.ok(counts.true > 0 && counts.false > 0, JSON.stringify(counts));
});

test('Ed25519: upper-case or signed hex is never a signature', () => {
  const { key, msg, sig } = ed25519.find((v) => v.flags === null);
  assert.equal(lf.verifySignature(key, msg, sig), true);
  assert.equal(lf.verifySignature(key, msg, sig.toUpperCase()), false);
  assert.equal(lf.verifySignature(key.toUpperCase(), msg, sig), false);
  assert.equal(lf.verifySignature(key, msg, `+${sig.slice(1)}`), false);
  assert.equal(lf.verifySignature(key, `${msg}!`, sig), false);
  assert.throws(() => lf.verifySignature(key, 42, sig), lf.InvalidArgumentError);
  assert.throws(() => lf.verifySignature(undefined, msg, sig), lf.InvalidArgumentError);
});
