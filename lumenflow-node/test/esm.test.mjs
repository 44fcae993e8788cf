// The package loads as ESM and as CommonJS, with the same classes either way.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import lfDefault, { Governor, PolicySet, Denied, LumenflowError, canonicalize } from 'lumenflow';

const require = createRequire(import.meta.url);
const cjs = require('lumenflow');

test('ESM and CommonJS exports are the same objects', () => {
  assert.equal(Governor, cjs.Governor);
  assert.equal(PolicySet, cjs.PolicySet);
  assert.equal(Denied, cjs.Denied);
  assert.equal(lfDefault, cjs);
  assert.ok(Object.getPrototypeOf(Denied) === LumenflowError);
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(lfDefault).sort());
  assert.equal(canonicalize({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}');
});
