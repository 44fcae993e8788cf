'use strict';
// LumenFlow for Node: policy and evidence for AI agents. A thin wrapper over the native
// module (napi-rs over `lumenflow-core`): it turns JavaScript values into JSON text for
// the core, the core's JSON answers into objects, and the core's errors into
// `LumenflowError` subclasses with a stable `code`. Every semantic (deciding, recording,
// verifying) lives in the Rust core. The documented API is index.d.ts.

const native = require('./native.js');

// ---------------------------------------------------------------------------------
// Errors

class LumenflowError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

class PolicyError extends LumenflowError {
  constructor(message, diagnostics = []) {
    super('LUMENFLOW_POLICY', message);
    this.diagnostics = diagnostics;
  }
}

/** A direct subclass of LumenflowError named `name`, whose errors have code `code`. */
function errorClass(name, code) {
  const classes = {
    [name]: class extends LumenflowError {
      constructor(message, options) {
        super(code, message, options);
      }
    },
  };
  return classes[name];
}

const ActionError = errorClass('ActionError', 'LUMENFLOW_ACTION');
const KeyError = errorClass('KeyError', 'LUMENFLOW_KEY');
const EvidenceError = errorClass('EvidenceError', 'LUMENFLOW_EVIDENCE');
const ApprovalError = errorClass('ApprovalError', 'LUMENFLOW_APPROVAL');
const InvalidArgumentError = errorClass('InvalidArgumentError', 'LUMENFLOW_INVALID');
const InternalError = errorClass('InternalError', 'LUMENFLOW_INTERNAL');
// The daemon of `lumenflow serve` could not be reached, timed out, answered badly or
// refused: the action must not run.
const DaemonError = errorClass('DaemonError', 'LUMENFLOW_DAEMON');

// The refusals of a governed call: the tool did not run.
class Denied extends LumenflowError {
  constructor(governed) {
    super('LUMENFLOW_DENIED', `denied: ${governed.decision.reason}`);
    this.decision = governed.decision;
    this.decisionId = governed.id;
  }
}

class ApprovalRequired extends LumenflowError {
  constructor(governed) {
    const approvers = governed.decision.approvers;
    super(
      'LUMENFLOW_APPROVAL_REQUIRED',
      `approval required (request ${governed.request}; ${approvers.length ? approvers.join(', ') : 'any approver'}): ${governed.decision.reason}`,
    );
    this.decision = governed.decision;
    this.decisionId = governed.id;
    this.requestId = governed.request;
    this.approvers = approvers;
  }
}

class BudgetExceeded extends LumenflowError {
  constructor(governed) {
    super('LUMENFLOW_BUDGET_EXCEEDED', `budget exceeded: ${governed.decision.reason}`);
    this.decision = governed.decision;
    this.decisionId = governed.id;
  }
}

/** The error a governed call that may not run throws, chosen by the core's verdict. */
function refusal(governed) {
  switch (governed.verdict) {
    case 'approval_required':
      return new ApprovalRequired(governed);
    case 'budget_exceeded':
      return new BudgetExceeded(governed);
    default:
      return new Denied(governed);
  }
}

const CLASSES = {
  LUMENFLOW_POLICY: PolicyError,
  LUMENFLOW_ACTION: ActionError,
  LUMENFLOW_KEY: KeyError,
  LUMENFLOW_EVIDENCE: EvidenceError,
  LUMENFLOW_APPROVAL: ApprovalError,
  LUMENFLOW_INVALID: InvalidArgumentError,
  LUMENFLOW_INTERNAL: InternalError,
  LUMENFLOW_DAEMON: DaemonError,
};

/** The LumenflowError for an error thrown by the native module (`where`: the call). */
function fromNative(e, where) {
  if (e instanceof LumenflowError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.startsWith('{"code"')) {
    try {
      const body = JSON.parse(msg);
      const Class = CLASSES[body.code];
      if (Class === PolicyError) return new PolicyError(body.message, body.diagnostics);
      if (Class) return new Class(body.message);
    } catch {
      // not ours: fall through
    }
  }
  // napi's own conversion errors (a wrong argument type reached the native layer).
  return new InvalidArgumentError(`${where}: ${msg}`, { cause: e });
}

/** Calls `f`, rethrowing native errors as LumenflowError subclasses. */
function call(where, f) {
  try {
    return f();
  } catch (e) {
    throw fromNative(e, where);
  }
}

/** `call` for a native call that returns a promise. */
async function callAsync(where, f) {
  try {
    return await f();
  } catch (e) {
    throw fromNative(e, where);
  }
}

// ---------------------------------------------------------------------------------
// Argument translation

/** JSON text of `value`; cyclic objects and BigInt are rejected with the argument's name. */
function toJson(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new InvalidArgumentError(`${what}: cannot be sent to LumenFlow as JSON: ${e.message}`, {
      cause: e,
    });
  }
  if (text === undefined) {
    throw new InvalidArgumentError(`${what}: must be a JSON value, not ${typeof value}`);
  }
  return text;
}

function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function expectObject(v, what) {
  if (!isPlainObject(v)) throw new InvalidArgumentError(`${what}: must be an object, not ${describe(v)}`);
  return v;
}

/** An options object whose keys are all in `known`. */
function expectOptions(v, known, what) {
  for (const k of Object.keys(expectObject(v, what))) {
    if (!known.includes(k)) {
      throw new InvalidArgumentError(`${what}: unknown option \`${k}\` (${known.join(', ')})`);
    }
  }
  return v;
}

function objectJson(value, what) {
  return toJson(expectObject(value, what), what);
}

function optionalObjectJson(value, what) {
  return value === undefined || value === null ? undefined : objectJson(value, what);
}

function expectString(v, what) {
  if (typeof v !== 'string' || v.length === 0) {
    throw new InvalidArgumentError(`${what}: must be a non-empty string, not ${describe(v)}`);
  }
  return v;
}

function stringList(v, what) {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new InvalidArgumentError(`${what}: must name at least one policy`);
  return list.map((x, i) => expectString(x, `${what}[${i}]`));
}

/** A string or bytes as a Buffer (sharing the bytes), or undefined for anything else. */
function bytesOf(v) {
  if (typeof v === 'string') return Buffer.from(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

// ---------------------------------------------------------------------------------
// Decisions

/**
 * A decision. `source` is the core's serialisation, its JSON text, or a function giving
 * that text (called when a detail is first read, with `effect` known already).
 */
class Decision {
  constructor(source, effect) {
    this._source = source;
    this._parsed = typeof source === 'object' ? source : undefined;
    this.effect = effect ?? this._raw.effect;
  }
  get _raw() {
    if (this._parsed === undefined) {
      const text = typeof this._source === 'function' ? this._source() : this._source;
      this._parsed = JSON.parse(text);
      this._source = undefined;
    }
    return this._parsed;
  }
  get allowed() {
    return this.effect === 'allow';
  }
  get approval() {
    return this._raw.approval ?? null;
  }
  get budgets() {
    return this._raw.budgets ?? [];
  }
  toJSON() {
    return this._raw;
  }
}

// The other details, under their camelCase names.
for (const [name, field] of Object.entries({
  reason: 'reason',
  decidedBy: 'decided_by',
  decidingRules: 'deciding_rules',
  matched: 'matched',
  errors: 'errors',
  warnings: 'warnings',
  policies: 'policies',
  approvers: 'approvers',
  evalNs: 'eval_ns',
})) {
  Object.defineProperty(Decision.prototype, name, {
    get() {
      return this._raw[field];
    },
    configurable: true,
  });
}

/** A decision recorded as evidence, from the core's view of it (JSON text). */
class Governed {
  constructor(text) {
    const { id, hash, verdict, request_id: request = null, ...decision } = JSON.parse(text);
    this.id = id;
    this.hash = hash;
    this.verdict = verdict;
    this.request = request;
    this.decision = new Decision(decision);
  }
  get effect() {
    return this.decision.effect;
  }
  get allowed() {
    return this.decision.allowed;
  }
  toJSON() {
    return { id: this.id, hash: this.hash, verdict: this.verdict, request: this.request, decision: this.decision.toJSON() };
  }
}

// ---------------------------------------------------------------------------------
// Policies

class PolicySet {
  constructor(handle) {
    if (!(handle instanceof native.NativePolicies)) {
      throw new InvalidArgumentError('use PolicySet.fromFiles(...) or PolicySet.fromYaml(...)');
    }
    this._native = handle;
  }

  static fromFiles(...paths) {
    const list = stringList(paths.flat(), 'policy files');
    return new PolicySet(call('PolicySet.fromFiles', () => native.NativePolicies.fromFiles(list)));
  }

  /** Each layer is a string, or `{text, origin}` where `origin` names it in errors. */
  static fromYaml(...layers) {
    const flat = layers.flat();
    if (flat.length === 0) throw new InvalidArgumentError('PolicySet.fromYaml: give at least one policy');
    const texts = [];
    const origins = [];
    flat.forEach((l, i) => {
      if (typeof l === 'string') {
        texts.push(l);
        origins.push(`policy[${i}]`);
      } else if (isPlainObject(l) && typeof l.text === 'string') {
        texts.push(l.text);
        origins.push(typeof l.origin === 'string' ? l.origin : `policy[${i}]`);
      } else {
        throw new InvalidArgumentError(
          `PolicySet.fromYaml: layer ${i} must be a string or {text, origin}, not ${describe(l)}`,
        );
      }
    });
    return new PolicySet(call('PolicySet.fromYaml', () => native.NativePolicies.fromTexts(texts, origins)));
  }

  /** Pure: only the effect crosses now; the details are asked for when first read. */
  decide(action, context) {
    const a = objectJson(action, 'action');
    const c = optionalObjectJson(context, 'context');
    const effect = call('decide', () => this._native.decide(a, c));
    const handle = this._native;
    return new Decision(() => call('decide', () => handle.decideJson(a, c)), effect);
  }

  replay(path) {
    const p = expectString(path, 'path');
    return JSON.parse(call('replay', () => this._native.replay(p)));
  }

  runTests(path) {
    const p = expectString(path, 'test file');
    return JSON.parse(call('runTests', () => this._native.runTests(p)));
  }
}

// ---------------------------------------------------------------------------------
// The governor

const OPEN_KEYS = ['policy', 'policies', 'evidence', 'key', 'context', 'durability', 'segmentBytes', 'redact', 'manualClock', 'trustedKeys', 'registry'];

/** The native arguments of `new Governor(options)`: dir, policies, key, options JSON. */
function openArgs(options) {
  const { policy, policies, evidence, key, ...rest } = expectOptions(options, OPEN_KEYS, 'Governor options');
  const dir = expectString(evidence, 'options.evidence');
  expectString(key, 'options.key');
  let set = policies;
  if (set === undefined) {
    if (policy === undefined) {
      throw new InvalidArgumentError('options.policy: required (a policy file, or a list of them as layers)');
    }
    set = PolicySet.fromFiles(stringList(policy, 'options.policy'));
  } else if (!(set instanceof PolicySet)) {
    throw new InvalidArgumentError('options.policies: must be a PolicySet');
  }
  if (rest.manualClock !== undefined) expectString(rest.manualClock, 'options.manualClock');
  if (rest.registry !== undefined) expectString(rest.registry, 'options.registry');
  if (rest.trustedKeys !== undefined) rest.trustedKeys = stringList(rest.trustedKeys, 'options.trustedKeys');
  return [dir, set._native, key, toJson(rest, 'Governor options')];
}

/** The bytes of a tool's output to digest (undefined when it cannot be serialised). */
function outputBytes(value) {
  if (value === undefined) return undefined;
  const bytes = bytesOf(value);
  if (bytes) return bytes;
  try {
    const t = JSON.stringify(value);
    return t === undefined ? undefined : Buffer.from(t);
  } catch {
    return undefined; // cyclic, BigInt: no digest
  }
}

/** The native arguments of a vote or an override: id, approver JSON, reason. */
function voteArgs(id, who, reason, what) {
  expectString(id, 'request');
  if (typeof who !== 'string' && !isPlainObject(who)) {
    throw new InvalidArgumentError(`${what}: must be an id or {id, roles}, not ${describe(who)}`);
  }
  if (typeof reason !== 'string') throw new InvalidArgumentError(`reason: must be a string, not ${describe(reason)}`);
  return [id, toJson(typeof who === 'string' ? { id: who } : who, what), reason];
}

function errorMessage(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  try {
    return String(err);
  } catch {
    return 'unprintable error';
  }
}

const WRAP_KEYS = ['actor', 'session', 'run', 'metadata', 'context', 'args', 'cost', 'settle'];
const WRAP_FUNCTIONS = {
  args: 'building the action args',
  cost: 'giving {cost?, tokens?} for a call',
  settle: 'giving {cost?, tokens?} from a result',
};

class Governor {
  constructor(options) {
    if (options instanceof native.NativeGovernor) {
      this._native = options;
      return;
    }
    const args = openArgs(options);
    this._native = call('Governor', () => native.NativeGovernor.open(...args));
  }

  static async open(options) {
    const args = openArgs(options);
    return new Governor(await callAsync('Governor.open', () => native.openGovernorAsync(...args)));
  }

  get keyId() {
    return call('keyId', () => this._native.keyId);
  }

  get closed() {
    return this._native.closed;
  }

  decide(action, context) {
    const a = objectJson(action, 'action');
    const c = optionalObjectJson(context, 'context');
    return new Governed(call('decide', () => this._native.decide(a, c)));
  }

  record(id, outcome) {
    expectString(id, 'decision id');
    const { output, ...rest } = expectObject(outcome, 'outcome');
    expectString(rest.status, 'outcome.status');
    if (output !== undefined && !bytesOf(output)) {
      throw new InvalidArgumentError('outcome.output: must be a string or bytes');
    }
    // JSON would turn NaN and Infinity into null: refuse them here (the core checks types).
    for (const k of ['durationMs', 'cost', 'tokens']) {
      if (rest[k] !== undefined && !Number.isFinite(rest[k])) {
        throw new InvalidArgumentError(`outcome.${k}: must be a finite number`);
      }
    }
    const text = toJson(rest, 'outcome');
    return call('record', () => this._native.record(id, text, bytesOf(output)));
  }

  approve(request, approver, reason = '') {
    return this._vote('approve', request, approver, reason);
  }

  reject(request, approver, reason = '') {
    return this._vote('reject', request, approver, reason);
  }

  _vote(choice, request, approver, reason, signature) {
    const [r, a, why] = voteArgs(request, approver, reason, 'approver');
    const sig = signature === undefined ? undefined : toJson(expectObject(signature, 'signature'), 'signature');
    return JSON.parse(call(choice, () => this._native.vote(r, a, choice, why, sig)));
  }

  /** Votes `verdict` ('approve' or 'reject'), optionally signed (`signVote`). */
  vote(request, approver, verdict, reason = '', { signature } = {}) {
    expectString(verdict, 'verdict');
    return this._vote(verdict, request, approver, reason, signature);
  }

  /** Votes for a registered approver this program authenticated itself by `method`. */
  attest(request, approverId, verdict, reason = '', { method } = {}) {
    const args = [
      expectString(request, 'request'),
      expectString(approverId, 'approverId'),
      expectString(verdict, 'verdict'),
      reason,
      expectString(method, 'method'),
    ];
    if (typeof reason !== 'string') throw new InvalidArgumentError(`reason: must be a string, not ${describe(reason)}`);
    return JSON.parse(call('attest', () => this._native.attest(...args)));
  }

  /** Records of the log that decided nothing, with why. */
  rejectedRecords() {
    return JSON.parse(call('rejectedRecords', () => this._native.rejectedRecords()));
  }

  approval(request) {
    const r = expectString(request, 'request');
    return JSON.parse(call('approval', () => this._native.approval(r)));
  }

  approvals() {
    return JSON.parse(call('approvals', () => this._native.approvals()));
  }

  budgets() {
    return JSON.parse(call('budgets', () => this._native.budgets()));
  }

  overrideDeny(decisionId, who, reason) {
    const [d, w, why] = voteArgs(decisionId, who, reason, 'who');
    return new Governed(call('overrideDeny', () => this._native.overrideDeny(d, w, why)));
  }

  advanceClock(seconds) {
    if (!Number.isFinite(seconds)) throw new InvalidArgumentError('seconds: must be a finite number');
    call('advanceClock', () => this._native.advanceClock(seconds));
  }

  /**
   * Wraps `fn` so every call is decided (and refused with Denied, ApprovalRequired or
   * BudgetExceeded, as a rejected promise for an async `fn`) and its outcome recorded.
   */
  wrap(tool, fn, options = {}) {
    expectString(tool, 'tool');
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError(`wrap: fn must be a function, not ${describe(fn)}`);
    }
    expectOptions(options, WRAP_KEYS, 'wrap options');
    for (const [k, what] of Object.entries(WRAP_FUNCTIONS)) {
      if (options[k] !== undefined && typeof options[k] !== 'function') {
        throw new InvalidArgumentError(`wrap options.${k}: must be a function ${what}`);
      }
    }
    const { actor, session, run, metadata, context, settle } = options;
    const base = { actor, session, run, metadata }; // undefined ones are left out of the JSON
    const gov = this;
    const toArgs = options.args ?? ((a) => (a === undefined ? {} : a));
    const isAsync = fn[Symbol.toStringTag] === 'AsyncFunction';
    const wrapped = function (...callArgs) {
      let governed;
      try {
        const expected = options.cost ? options.cost(...callArgs) : undefined;
        governed = gov.decide({ ...base, ...expected, tool, args: toArgs(...callArgs) }, context);
        if (governed.verdict !== 'allow') throw refusal(governed);
      } catch (e) {
        if (isAsync) return Promise.reject(e);
        throw e;
      }
      const start = performance.now();
      const succeeded = (value) => {
        const durationMs = performance.now() - start;
        const { cost, tokens } = (settle && settle(value)) || {};
        gov._finish(governed.id, { status: 'success', durationMs, cost, tokens }, value);
        return value;
      };
      const failed = (err) => {
        gov._finish(governed.id, { status: 'failure', durationMs: performance.now() - start, error: errorMessage(err) });
        throw err;
      };
      let result;
      try {
        result = fn.apply(this, callArgs);
      } catch (err) {
        failed(err);
      }
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        return Promise.resolve(result).then(succeeded, failed);
      }
      return succeeded(result);
    };
    Object.defineProperty(wrapped, 'name', { value: `governed ${fn.name || tool}` });
    return wrapped;
  }

  _finish(id, outcome, output) {
    const text = toJson(outcome, 'outcome');
    call('record', () => this._native.record(id, text, outputBytes(output)));
  }

  checkpoint() {
    const c = call('checkpoint', () => this._native.checkpoint());
    return c === null ? null : JSON.parse(c);
  }

  close() {
    call('close', () => this._native.close());
  }
}

// ---------------------------------------------------------------------------------
// The daemon: the same API over the socket of `lumenflow serve`

/**
 * The Governor API served by the daemon `lumenflow serve` on its Unix socket (made by
 * `connect`). The daemon holds the key, the policy and the evidence; this process only
 * proposes. `decide`, `record`, `wrap`, `approval` and `approvals` are the Governor's;
 * the actor is who the kernel says this process is (`actor`), whatever an action claims.
 * Approving, overriding and keys are not served to agents.
 */
class RemoteGovernor {
  constructor(handle) {
    if (!(handle instanceof native.NativeRemote)) {
      throw new InvalidArgumentError('use connect(socket) to make a RemoteGovernor');
    }
    this._native = handle;
    this._hello = JSON.parse(handle.hello);
  }

  /** The actor the daemon records this process's actions under (`unix:<user>`). */
  get actor() {
    return this._hello.actor;
  }

  /** The daemon's signing key id. */
  get keyId() {
    return this._hello.key_id;
  }

  /** The longest wait for approval the daemon grants, in milliseconds. */
  get maxWaitMs() {
    return this._hello.max_wait_ms;
  }

  get closed() {
    return this._native.closed;
  }

  /** Blocks (the event loop too) until the request is decided or expires, or `timeoutMs` passes. */
  waitForApproval(request, timeoutMs) {
    const r = expectString(request, 'request');
    if (!Number.isFinite(timeoutMs)) throw new InvalidArgumentError('timeoutMs: must be a finite number');
    return JSON.parse(call('waitForApproval', () => this._native.waitForApproval(r, timeoutMs)));
  }

  /** `waitForApproval` without blocking the event loop. */
  async waitForApprovalAsync(request, timeoutMs) {
    const r = expectString(request, 'request');
    if (!Number.isFinite(timeoutMs)) throw new InvalidArgumentError('timeoutMs: must be a finite number');
    return JSON.parse(await callAsync('waitForApprovalAsync', () => this._native.waitForApprovalAsync(r, timeoutMs)));
  }

  /** This actor's evidence records, optionally of one session and the latest `limit`. */
  log({ session, limit } = {}) {
    if (session !== undefined) expectString(session, 'session');
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new InvalidArgumentError('limit: must be a non-negative integer');
    }
    return JSON.parse(call('log', () => this._native.log(session, limit)));
  }
}

// Deciding, recording, wrapping and reading requests are the in-process Governor's own
// code: only the native handle differs (its methods take and give the same JSON).
for (const name of ['decide', 'record', 'approval', 'approvals', 'wrap', '_finish', 'close']) {
  Object.defineProperty(RemoteGovernor.prototype, name, {
    value: Governor.prototype[name],
    writable: true,
    configurable: true,
  });
}

const CONNECT_KEYS = ['timeoutMs', 'session'];

/**
 * Connects to the daemon's agent socket: a RemoteGovernor with the Governor's API, so a
 * program switches with one line. `timeoutMs` (default 10 000) bounds each call;
 * `session` labels the connection (it groups, it never authorises).
 */
function connect(socket, options = {}) {
  expectString(socket, 'socket');
  expectOptions(options, CONNECT_KEYS, 'connect options');
  const { timeoutMs = 10000, session } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError('timeoutMs: must be a finite, non-negative number');
  }
  if (session !== undefined) expectString(session, 'session');
  return new RemoteGovernor(call('connect', () => native.NativeRemote.connect(socket, timeoutMs, session)));
}

// ---------------------------------------------------------------------------------
// Verification, keys, export, canonical JSON

const VERIFY_KEYS = ['keys', 'keyPems', 'checkpoint', 'checkpointJson', 'registry'];

/** Verify options as JSON text for the core (undefined for none). */
function verifyOptions(options) {
  if (options === undefined) return undefined;
  const out = {};
  for (const [k, v] of Object.entries(expectOptions(options, VERIFY_KEYS, 'verify options'))) {
    if (v === undefined) continue;
    if (k === 'keys' || k === 'keyPems') {
      out[k] = stringList(v, `verify options.${k}`);
    } else if (k === 'checkpointJson') {
      out[k] = typeof v === 'string' ? v : toJson(v, 'verify options.checkpointJson');
    } else {
      out[k] = expectString(v, `verify options.${k}`);
    }
  }
  return JSON.stringify(out);
}

function logBytes(data) {
  const bytes = bytesOf(data);
  if (!bytes) throw new InvalidArgumentError(`records: must be a string or bytes, not ${describe(data)}`);
  return bytes;
}

// Arguments are checked (and thrown) by `call` too: it passes LumenflowErrors through.
function verify(path, options) {
  return JSON.parse(call('verify', () => native.verifyPath(expectString(path, 'path'), verifyOptions(options))));
}

async function verifyAsync(path, options) {
  const p = expectString(path, 'path');
  return JSON.parse(await callAsync('verifyAsync', () => native.verifyPathAsync(p, verifyOptions(options))));
}

function verifyRecords(data, options) {
  return JSON.parse(call('verifyRecords', () => native.verifyRecords(logBytes(data), verifyOptions(options))));
}

async function verifyRecordsAsync(data, options) {
  const d = logBytes(data);
  return JSON.parse(await callAsync('verifyRecordsAsync', () => native.verifyRecordsAsync(d, verifyOptions(options))));
}

/** Signs a vote on `request` (from `approval`) with the approver's key file. */
function signVote(key, request, verdict, approver, reason = '') {
  const args = [
    expectString(key, 'key'),
    toJson(expectObject(request, 'request'), 'request'),
    expectString(verdict, 'verdict'),
    expectString(approver, 'approver'),
    reason,
  ];
  if (typeof reason !== 'string') throw new InvalidArgumentError(`reason: must be a string, not ${describe(reason)}`);
  return JSON.parse(call('signVote', () => native.signVote(...args)));
}

function generateKey(path) {
  const p = expectString(path, 'path');
  return call('generateKey', () => native.generateKey(p));
}

function exportEvidence(dir, out, format = 'bundle') {
  const args = [expectString(dir, 'dir'), expectString(out, 'out'), expectString(format, 'format')];
  return call('exportEvidence', () => native.exportEvidence(...args));
}

function verifySignature(publicKeyHex, message, signatureHex) {
  const m = bytesOf(message);
  if (!m) throw new InvalidArgumentError(`message: must be a string or bytes, not ${describe(message)}`);
  return call('verifySignature', () => native.verifySignature(publicKeyHex, m, signatureHex));
}

function canonicalize(value) {
  const t = toJson(value, 'value');
  return call('canonicalize', () => native.canonicalize(t));
}

module.exports = {
  Governor,
  RemoteGovernor,
  connect,
  PolicySet,
  Decision,
  Governed,
  verify,
  verifyAsync,
  verifyRecords,
  verifyRecordsAsync,
  generateKey,
  signVote,
  exportEvidence,
  canonicalize,
  verifySignature,
  LumenflowError,
  PolicyError,
  ActionError,
  KeyError,
  EvidenceError,
  ApprovalError,
  InvalidArgumentError,
  InternalError,
  DaemonError,
  Denied,
  ApprovalRequired,
  BudgetExceeded,
  version: native.nativeVersion(),
};
// For `import lumenflow from 'lumenflow'` under TypeScript's CommonJS interop.
module.exports.default = module.exports;
