'use strict';
// Approvals, budgets and overrides from Node: the shared scenarios of
// spec/vectors/approvals.json, and an agent loop that waits for an approval and then
// retries, and one that runs out of budget.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lf = require('..');
const { scratch, records } = require('./helpers.js');

const DOC = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'spec', 'vectors', 'approvals.json'), 'utf8'));
const CODES = {
  policy: 'LUMENFLOW_POLICY',
  action: 'LUMENFLOW_ACTION',
  key: 'LUMENFLOW_KEY',
  evidence: 'LUMENFLOW_EVIDENCE',
  approval: 'LUMENFLOW_APPROVAL',
  invalid: 'LUMENFLOW_INVALID',
};

function checkDecision(ctx, g, e, names, outcome) {
  const d = g.decision;
  if (e.verdict !== undefined) assert.equal(g.verdict, e.verdict, `${ctx}: verdict (${d.reason})`);
  if (e.effect !== undefined) assert.equal(d.effect, e.effect, `${ctx}: effect`);
  if (e.decided_by !== undefined) assert.equal(d.decidedBy, e.decided_by, `${ctx}: decided_by (${d.reason})`);
  if (e.rules !== undefined) {
    assert.deepEqual(d.decidingRules.map((r) => `${r.policy}/${r.rule}`), e.rules, `${ctx}: rules`);
  }
  if (e.request !== undefined) assert.equal(d.approval?.request, names.get(e.request), `${ctx}: request`);
  if (e.outcome !== undefined) assert.equal(outcome, e.outcome, `${ctx}: outcome`);
  for (const want of e.budgets ?? []) {
    const got = d.budgets.find((c) => c.budget === want.budget);
    assert.ok(got, `${ctx}: no charge for ${want.budget}`);
    assert.equal(got.status, want.status, `${ctx}: budget status`);
    for (const f of ['spent', 'amount']) {
      if (want[f] !== undefined) assert.ok(Math.abs(got[f] - want[f]) < 1e-9, `${ctx}: ${f}: ${JSON.stringify(got)}`);
    }
  }
}

test('approval, budget and override vectors (spec/vectors/approvals.json)', (t) => {
  assert.ok(DOC.scenarios.length >= 6);
  let steps = 0;
  for (const sc of DOC.scenarios) {
    const s = scratch(t);
    const pemFile = (name, text) => {
      const p = path.join(path.dirname(s.evidence), name);
      fs.writeFileSync(p, text, { mode: 0o600, flag: 'wx' });
      return p;
    };
    let key = s.key;
    let pub = s.pub;
    if (sc.governor_key !== undefined) {
      key = pemFile('governor.key', sc.governor_key);
      pub = pemFile('governor.key.pub', sc.governor_public_key);
    }
    const signers = Object.fromEntries(Object.entries(sc.keys ?? {}).map(([n, pem]) => [n, pemFile(`${n}.key`, pem)]));
    const gov = new lf.Governor({
      policies: lf.PolicySet.fromYaml(sc.policies.map((text, i) => ({ text, origin: `${sc.name}#${i}` }))),
      evidence: s.evidence,
      key,
      durability: 'none',
      manualClock: DOC.start,
      ...(sc.registry !== undefined ? { registry: pemFile('approvers.yaml', sc.registry) } : {}),
    });
    const names = new Map();
    sc.steps.forEach((step, i) => {
      const ctx = `${sc.name}: step ${i} ${step.op}`;
      const e = step.expect;
      let result;
      let error;
      try {
        switch (step.op) {
          case 'decide': {
            const g = gov.decide(step.action);
            const closed = records(s.evidence).find((r) => r.kind === 'outcome' && r.body.decision === g.id);
            if (e) checkDecision(ctx, g, e, names, closed?.body.status);
            if (step.save) names.set(step.save, g.id);
            break;
          }
          case 'approve':
          case 'reject':
            if (step.sign !== undefined) {
              const req = names.get(step.request);
              const signature = lf.signVote(signers[step.sign], gov.approval(req), step.op, step.approver.id, step.reason);
              result = gov.vote(req, step.approver, step.op, step.reason, { signature });
            } else {
              result = gov[step.op](names.get(step.request), step.approver, step.reason);
            }
            break;
          case 'attest':
            result = gov.attest(names.get(step.request), step.approver_id, step.verdict, step.reason, { method: step.method });
            break;
          case 'request':
            result = gov.approval(names.get(step.request));
            break;
          case 'advance':
            gov.advanceClock(step.seconds);
            break;
          case 'record': {
            const o = { status: step.status };
            for (const k of ['cost', 'tokens', 'error']) if (step[k] !== undefined) o[k] = step[k];
            gov.record(names.get(step.decision), o);
            break;
          }
          case 'override': {
            const g = gov.overrideDeny(names.get(step.decision), step.who, step.reason);
            if (e) checkDecision(ctx, g, e, names, undefined);
            if (step.save) names.set(step.save, g.id);
            break;
          }
          case 'budgets': {
            const got = gov.budgets();
            for (const want of e) {
              const b = got.find((x) => x.budget === want.budget && x.account === want.account);
              assert.ok(b, `${ctx}: no account ${JSON.stringify(want)} in ${JSON.stringify(got)}`);
              assert.ok(Math.abs(b.spent - want.spent) < 1e-9, `${ctx}: ${JSON.stringify(got)}`);
            }
            break;
          }
          default:
            assert.fail(`${ctx}: unknown op`);
        }
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        error = err;
      }
      if (step.expect_error !== undefined) {
        assert.ok(error, `${ctx}: expected a ${step.expect_error} error`);
        assert.ok(error instanceof lf.LumenflowError, `${ctx}: ${error}`);
        assert.equal(error.code, CODES[step.expect_error], `${ctx}: ${error.message}`);
      } else {
        assert.equal(error, undefined, `${ctx}: unexpected error ${error?.stack}`);
        if (result && e) {
          for (const [k, v] of Object.entries(e)) assert.deepEqual(result[k], v, `${ctx}: ${k}`);
        }
      }
      steps += 1;
    });
    gov.close();
    const report = lf.verify(s.evidence, { keys: [pub] });
    assert.equal(report.exit_code, 0, `${sc.name}: ${JSON.stringify(report)}`);
    const unpinned = lf.verify(s.evidence);
    assert.equal(unpinned.exit_code, 4, 'without pinned keys who signed is not proven');
    assert.equal(unpinned.pinned, false);
  }
  assert.ok(steps >= 50, `only ${steps} steps ran`);
});

const OPS = `version: 1
name: ops
default: deny
rules:
  - id: deploy
    effect: require_approval
    when: action.tool == "deploy"
    approvers: ["role:lead"]
  - id: llm
    effect: allow
    when: action.tool == "llm"
  - id: no-prod-wipe
    effect: deny
    when: action.tool == "db" && action.args.query.startsWith("DROP")
    overridable_by: ["role:sre"]
  - id: db
    effect: allow
    when: action.tool == "db"
budgets:
  - id: session-cost
    per: session
    limit: 1.0
    unit: usd
    charge: action.cost
    on_exceed: deny
`;

test('agent loop: approval then retry, budget exhausted, break-glass override, then verify', async (t) => {
  const s = scratch(t);
  const gov = await lf.Governor.open({ policies: lf.PolicySet.fromYaml(OPS), evidence: s.evidence, key: s.key });
  const deployed = [];
  const deploy = gov.wrap('deploy', async ({ version }) => deployed.push(version), { actor: 'agent-7', session: 's-1' });
  // An LLM call priced up front at 0.4 and settled with what it really cost.
  const llm = gov.wrap('llm', (prompt) => ({ text: `answer to ${prompt}`, usd: 0.3 }), {
    args: (prompt) => ({ prompt }),
    cost: () => ({ cost: 0.4 }),
    settle: (r) => ({ cost: r.usd }),
    actor: 'agent-7',
    session: 's-1',
  });
  const db = gov.wrap('db', ({ query }) => `ok: ${query}`, { actor: 'agent-7', session: 's-1' });

  // 1. Deploy needs approval: the tool does not run; a lead approves; the retry runs once.
  const pending = await deploy({ version: '1.2.3' }).catch((e) => e);
  assert.ok(pending instanceof lf.ApprovalRequired, String(pending));
  assert.equal(pending.code, 'LUMENFLOW_APPROVAL_REQUIRED');
  assert.equal(pending.requestId, pending.decisionId);
  assert.deepEqual(pending.approvers, ['role:lead']);
  assert.equal(gov.approval(pending.requestId).state, 'pending');
  assert.throws(() => gov.approve(pending.requestId, 'agent-7', 'self'), (e) => e.code === 'LUMENFLOW_APPROVAL');
  const approved = gov.approve(pending.requestId, { id: 'alice', roles: ['lead'] }, 'release window');
  assert.equal(approved.state, 'approved');
  assert.equal(approved.approvals, 1);
  assert.deepEqual(deployed, []);
  assert.equal(await deploy({ version: '1.2.3' }), 1);
  assert.deepEqual(deployed, ['1.2.3']);
  assert.equal(gov.approval(pending.requestId).state, 'used');
  // The grant is bound to the exact action and used once.
  await assert.rejects(deploy({ version: '1.2.4' }), lf.ApprovalRequired);
  await assert.rejects(deploy({ version: '1.2.3' }), lf.ApprovalRequired);

  // 2. Budget: 0.4 reserved per call against 1.0, settled at 0.3 each.
  assert.equal(llm('a').text, 'answer to a');
  assert.equal(llm('b').text, 'answer to b');
  assert.equal(llm('c').text, 'answer to c'); // spent 0.6 + 0.4 reserved = 1.0
  assert.throws(
    () => llm('d'),
    (e) => {
      assert.ok(e instanceof lf.BudgetExceeded, String(e));
      assert.equal(e.code, 'LUMENFLOW_BUDGET_EXCEEDED');
      assert.equal(e.decision.effect, 'deny');
      assert.equal(e.decision.budgets[0].status, 'exceeded');
      return true;
    },
  );
  const [account] = gov.budgets();
  assert.equal(account.budget, 'session-cost');
  assert.ok(Math.abs(account.spent - 0.9) < 1e-9, JSON.stringify(account));

  // 3. A deny, overridden by someone allowed to (and refused for someone who is not).
  const denied = (() => {
    try {
      db({ query: 'DROP TABLE t' });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(denied instanceof lf.Denied);
  assert.throws(() => gov.overrideDeny(denied.decisionId, 'mallory', 'because'), (e) => e.code === 'LUMENFLOW_APPROVAL');
  const glass = gov.overrideDeny(denied.decisionId, { id: 'sam', roles: ['sre'] }, 'restore from backup');
  assert.equal(glass.verdict, 'allow');
  assert.equal(glass.decision.decidedBy, 'override');
  gov.record(glass.id, { status: 'success', output: 'dropped' });

  gov.close();
  const report = lf.verify(s.evidence, { keys: [s.pub] });
  assert.equal(report.exit_code, 0, JSON.stringify(report));
  const kinds = records(s.evidence).map((r) => r.kind);
  assert.ok(kinds.includes('approval') && kinds.includes('override'), kinds.join(','));
  // Every decision of the log is replayed (or counted as an override).
  const replay = lf.PolicySet.fromYaml(OPS).replay(s.evidence);
  assert.equal(replay.same_policies, true);
  assert.equal(replay.decisions + replay.overrides, kinds.filter((k) => k === 'decision' || k === 'override').length);
});
