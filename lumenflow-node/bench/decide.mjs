// Overhead of lumenflow's `decide` from Node, side by side with @cedar-policy/cedar-wasm
// on an equivalent policy (the cases and Cedar rendering of benches/benches/decide.rs).
//
//   ./run.sh            (builds the addon in release, installs cedar-wasm, runs this)
//
// Per case: the median over BATCHES batches of the mean time per call in a batch of N
// calls, after a warm-up. Three columns:
//   lumenflow         PolicySet.decide(action, context).effect: JSON.stringify of the
//                     inputs, the call into Rust, Action from JSON, decide, the effect
//                     back, and the Decision object (its details are computed only when
//                     read, so they are not in this figure).
//   native            the same call into Rust with the inputs already JSON text (the
//                     floor of the binding's own cost).
//   cedar-wasm        statefulIsAuthorized on a preparsed policy set, its context
//                     precomputed (Cedar has no shell/path/URL helpers).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..');
const lf = require('../index.js');
const native = require('../native.js');

const N = Number(process.env.N ?? 20000);
const BATCHES = Number(process.env.BATCHES ?? 15);

const shell = (programs, destructive) => ({
  programs,
  git_destructive: destructive,
  recursive_delete: false,
  writes_outside_worktree: false,
  writes_protected: false,
  package_install: false,
  has_secret: false,
  cost: 0,
});
const CASES = [
  {
    name: 'bash: cargo test --workspace → allow',
    action: { tool: 'bash', args: { command: 'cargo test --workspace' }, actor: 'agent-7', session: 's-1' },
    cedarAction: 'bash',
    cedarContext: shell(['cargo'], false),
    expect: 'allow',
  },
  {
    name: 'bash: git -C ../x push --force origin main → deny',
    action: { tool: 'bash', args: { command: 'git -C ../x push --force origin main' }, actor: 'agent-7', session: 's-1' },
    cedarAction: 'bash',
    cedarContext: shell(['git'], true),
    expect: 'deny',
  },
  {
    name: 'edit: src/lib.rs → allow',
    action: { tool: 'edit', args: { path: 'src/lib.rs', old: 'a', new: 'b' }, actor: 'agent-7', session: 's-1' },
    cedarAction: 'edit',
    cedarContext: { path: '/work/repo/src/lib.rs', has_secret: false, cost: 0 },
    expect: 'allow',
  },
  {
    name: 'http: POST https://example.com/upload → require_approval',
    action: { tool: 'http', args: { url: 'https://example.com/upload', method: 'POST' }, actor: 'agent-7', session: 's-1' },
    cedarAction: 'http',
    cedarContext: { scheme: 'https', host: 'example.com', has_secret: false, cost: 0 },
    expect: 'require_approval',
  },
  {
    name: 'read: README.md → allow',
    action: { tool: 'read', args: { path: 'README.md' }, actor: 'agent-7', session: 's-1' },
    cedarAction: 'read',
    cedarContext: { path: '/work/repo/README.md', has_secret: false, cost: 0 },
    expect: 'allow',
  },
];
const CONTEXT = { worktree: '/work/repo', allowed_hosts: ['*.github.com', 'github.com'] };

// Cedar: one policy per statement, keyed by its @id (as the Rust benchmark does), so
// that a `permit` whose id starts with "approval" can stand for require_approval.
const cedarText = readFileSync(path.join(root, 'benches', 'cedar', 'software-delivery.cedar'), 'utf8');
const parts = cedar.policySetTextToParts(cedarText);
if (parts.type !== 'success') throw new Error(JSON.stringify(parts));
const staticPolicies = {};
for (const p of parts.policies) {
  const id = /@id\("([^"]+)"\)/.exec(p)?.[1];
  if (!id) throw new Error(`policy without @id: ${p}`);
  staticPolicies[id] = p;
}
const pre = cedar.preparsePolicySet('software-delivery', { staticPolicies });
if (pre.type !== 'success') throw new Error(JSON.stringify(pre));

function cedarCall(c) {
  return {
    principal: { type: 'Agent', id: 'agent-7' },
    action: { type: 'Action', id: c.cedarAction },
    resource: { type: 'Tool', id: 'any' },
    context: c.cedarContext,
    preparsedPolicySetId: 'software-delivery',
    entities: [],
  };
}
function cedarEffect(answer) {
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer));
  const r = answer.response;
  if (r.decision === 'deny') return 'deny';
  return r.diagnostics.reason.some((id) => id.startsWith('approval')) ? 'require_approval' : 'allow';
}

const set = lf.PolicySet.fromFiles(path.join(root, 'examples', 'policies', 'software-delivery.yaml'));
const nativeSet = native.NativePolicies.fromFiles([path.join(root, 'examples', 'policies', 'software-delivery.yaml')]);

function time(f, n = N) {
  for (let i = 0; i < n / 4; i++) f(); // warm-up
  const per = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    per.push(Number(process.hrtime.bigint() - t0) / n / 1000);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

const fmt = (us) => `${us.toFixed(2)} µs`;
console.log(`node ${process.version}, ${N} calls (cedar-wasm ${Math.ceil(N / 20)}) x ${BATCHES} batches per figure (median of batch means)\n`);
console.log('| Request | lumenflow (Node API) | native call only | cedar-wasm | eval in Rust (eval_ns) |');
console.log('|---|---|---|---|---|');
for (const c of CASES) {
  const d = set.decide(c.action, CONTEXT);
  if (d.effect !== c.expect) throw new Error(`${c.name}: lumenflow said ${d.effect}`);
  const ce = cedarEffect(cedar.statefulIsAuthorized(cedarCall(c)));
  if (ce !== c.expect) throw new Error(`${c.name}: cedar said ${ce}`);
  const actionText = JSON.stringify(c.action);
  const contextText = JSON.stringify(CONTEXT);
  const full = time(() => set.decide(c.action, CONTEXT).effect);
  const nat = time(() => nativeSet.decide(actionText, contextText));
  const call = cedarCall(c);
  const ced = time(() => cedar.statefulIsAuthorized(call), Math.ceil(N / 20)); // ~100x slower per call
  const evalNs = [];
  for (let i = 0; i < 2001; i++) evalNs.push(set.decide(c.action, CONTEXT).evalNs);
  evalNs.sort((a, b) => a - b);
  console.log(`| \`${c.name}\` | ${fmt(full)} | ${fmt(nat)} | ${fmt(ced)} | ${fmt(evalNs[1000] / 1000)} |`);
}
