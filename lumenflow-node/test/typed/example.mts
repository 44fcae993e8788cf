// A typed agent loop, checked by `tsc --strict` (scripts/test-node.sh): it must compile,
// and each `@ts-expect-error` line must really be rejected by the definitions.
import {
  Governor,
  connect,
  DaemonError,
  PolicySet,
  Denied,
  ApprovalRequired,
  BudgetExceeded,
  LumenflowError,
  verify,
  type Action,
  type Decision,
  type VerifyReport,
} from 'lumenflow';

export async function agent(policy: string, evidence: string, key: string): Promise<number> {
  const gov = await Governor.open({ policy, evidence, key, context: { worktree: '/repo' } });
  const bash = gov.wrap('bash', async ({ command }: { command: string }) => `ran ${command}`, {
    actor: { id: 'agent-7', roles: ['dev'], kind: 'agent' },
    session: 's-1',
  });
  const out: string = await bash({ command: 'ls' });
  try {
    await bash({ command: 'git push --force' });
  } catch (e) {
    if (e instanceof Denied) {
      const d: Decision = e.decision;
      console.log(d.effect, d.decidingRules[0]?.rule, e.decisionId, out);
    } else if (e instanceof ApprovalRequired) {
      const req = gov.approve(e.requestId, { id: 'alice', roles: ['lead'] }, 'ok');
      if (req.state === 'approved') await bash({ command: 'git push --force' });
    } else if (e instanceof BudgetExceeded) {
      console.log(e.decision.budgets.map((b) => `${b.budget}: ${b.spent}`), gov.budgets()[0]?.remaining);
    } else if (e instanceof LumenflowError) {
      const code: string = e.code;
      console.log(code);
    }
  }
  const action: Action = { tool: 'read', args: { path: 'README.md' }, cost: 0.5 };
  const governed = gov.decide(action);
  if (governed.allowed) gov.record(governed.id, { status: 'success', output: 'text', durationMs: 3 });
  gov.close();
  const report: VerifyReport = verify(evidence, { keys: [`${key}.pub`] });
  if (report.integrity.verdict === 'broken') console.log(report.integrity.seq);
  return report.exit_code;
}

export function pure(): boolean {
  const set = PolicySet.fromYaml({ text: 'version: 1\nname: p\ndefault: allow\n', origin: 'p.yaml' });
  // @ts-expect-error an action needs a tool
  set.decide({ args: {} });
  // @ts-expect-error args hold JSON only
  set.decide({ tool: 'x', args: { f: () => 1 } });
  // @ts-expect-error effects are a closed set
  const e: 'allow' | 'deny' = set.decide({ tool: 'x' }).effect;
  void e;
  return set.decide({ tool: 'x' }).allowed;
}

export function badOptions(g: Governor): void {
  // @ts-expect-error outcome statuses are a closed set
  g.record('s:1', { status: 'great' });
  // @ts-expect-error verdicts are a closed set
  const v: 'allow' | 'deny' = g.decide({ tool: 'x' }).verdict;
  void v;
  // @ts-expect-error evidence and key are required
  void new Governor({ policy: 'p.yaml' });
}

export async function remoteAgent(socket: string): Promise<string> {
  const gov = connect(socket, { timeoutMs: 5000, session: 's-2' });
  const g = gov.decide({ tool: 'bash', args: { command: 'git push' } });
  if (g.verdict === 'approval_required' && g.request) {
    const r = await gov.waitForApprovalAsync(g.request, 60_000);
    const n: number = r.approvals;
    void n;
  }
  try {
    gov.record(g.id, { status: 'success' });
  } catch (e) {
    if (e instanceof DaemonError) return e.code;
  }
  // @ts-expect-error agents cannot approve
  gov.approve('r', 'me');
  gov.close();
  return gov.actor;
}
