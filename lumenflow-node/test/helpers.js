'use strict';
// Shared fixtures for the tests: a scratch directory with a key and a small policy.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const lf = require('..');

const POLICY = `version: 1
name: agent-tools
default: deny
rules:
  - id: no-force-push
    effect: deny
    when: action.tool == "bash" && shell.invokes(action.args.command, "git push --force|-f")
    reason: force pushes rewrite shared history
  - id: bash
    effect: allow
    when: action.tool == "bash"
  - id: read
    effect: allow
    when: action.tool == "read"
  - id: http-needs-approval
    effect: require_approval
    when: action.tool == "http"
    approvers: ["role:lead"]
    reason: outbound network
`;

/** A fresh directory with `agent.key`, `agent.key.pub` and `policy.yaml`. */
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lumenflow-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'agent.key');
  const keyId = lf.generateKey(key);
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, POLICY);
  return { dir, key, pub: `${key}.pub`, keyId, policy, evidence: path.join(dir, 'evidence') };
}

/** Every record of an evidence directory, parsed, in order. */
function records(evidence) {
  const seg = path.join(evidence, 'segments');
  return fs
    .readdirSync(seg)
    .sort()
    .flatMap((f) => fs.readFileSync(path.join(seg, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l));
}

module.exports = { POLICY, scratch, records };
