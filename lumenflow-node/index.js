'use strict';
/**
 * LumenFlow for Node: policy and evidence for AI agents.
 *
 * A thin wrapper over the native module (napi-rs over `lumenflow-core`): it turns
 * JavaScript values into JSON text for the core, the core's JSON answers into objects,
 * and the core's errors into `LumenflowError` subclasses with a stable `code`. Every
 * semantic (deciding, recording, verifying) lives in the Rust core.
 */

const native = require('./native.js');

// ---------------------------------------------------------------------------------
// Errors

/** Base class of every error LumenFlow throws; `code` is stable (`LUMENFLOW_*`). */
class LumenflowError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = new.target.name;
    /** @type {string} */
    this.code = code;
  }
}

/** A policy could not be loaded; `diagnostics` locate every problem found. */
class PolicyError extends LumenflowError {
  constructor(message, diagnostics = []) {
    super('LUMENFLOW_POLICY', message);
    this.diagnostics = diagnostics;
  }
}

/** An action or context was rejected before any rule ran. */
class ActionError extends LumenflowError {
  constructor(message) {
    super('LUMENFLOW_ACTION', message);
  }
}

/** A key could not be read, parsed or used. */
class KeyError extends LumenflowError {
  constructor(message) {
    super('LUMENFLOW_KEY', message);
  }
}

/** Evidence could not be written or read. */
class EvidenceError extends LumenflowError {
  constructor(message, options) {
    super('LUMENFLOW_EVIDENCE', message, options);
  }
}

/** An approval could not be given, refused, or found. */
class ApprovalError extends LumenflowError {
  constructor(message) {
    super('LUMENFLOW_APPROVAL', message);
  }
}

/** An argument from JavaScript is not valid (wrong type, missing, cyclic, BigInt...). */
class InvalidArgumentError extends LumenflowError {
  constructor(message, options) {
    super('LUMENFLOW_INVALID', message, options);
  }
}

/** A bug in LumenFlow (a contained panic); please report it. */
class InternalError extends LumenflowError {
  constructor(message) {
    super('LUMENFLOW_INTERNAL', message);
  }
}

/** The policy denied the call; the tool did not run. */
class Denied extends LumenflowError {
  /** @param {Governed} governed */
  constructor(governed) {
    super('LUMENFLOW_DENIED', `denied: ${governed.decision.reason}`);
    /** The decision (its rules and reasons). */
    this.decision = governed.decision;
    /** The evidence record of the decision. */
    this.decisionId = governed.id;
  }
}

/**
 * The policy requires an approval before the call may run; the tool did not run. Once
 * `requestId` is approved (`Governor.approve`, or `lumenflow approve` from elsewhere),
 * proposing the same action again is allowed once.
 */
class ApprovalRequired extends LumenflowError {
  /** @param {Governed} governed */
  constructor(governed) {
    const approvers = governed.decision.approvers;
    super(
      'LUMENFLOW_APPROVAL_REQUIRED',
      `approval required (request ${governed.request}; ${approvers.length ? approvers.join(', ') : 'any approver'}): ${governed.decision.reason}`,
    );
    this.decision = governed.decision;
    this.decisionId = governed.id;
    /** The approval request to approve (the id of the decision record that opened it). */
    this.requestId = governed.request;
    /** Who may approve (from the deciding rules). */
    this.approvers = approvers;
  }
}

/** A budget would be exceeded; the tool did not run. `decision.budgets` has the charges. */
class BudgetExceeded extends LumenflowError {
  /** @param {Governed} governed */
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
  LUMENFLOW_POLICY: (m, d) => new PolicyError(m, d),
  LUMENFLOW_ACTION: (m) => new ActionError(m),
  LUMENFLOW_KEY: (m) => new KeyError(m),
  LUMENFLOW_EVIDENCE: (m) => new EvidenceError(m),
  LUMENFLOW_APPROVAL: (m) => new ApprovalError(m),
  LUMENFLOW_INVALID: (m) => new InvalidArgumentError(m),
  LUMENFLOW_INTERNAL: (m) => new InternalError(m),
};

/**
 * Turns an error thrown by the native module into its LumenflowError subclass.
 * @param {unknown} e
 * @param {string} where the call, for napi's own argument-conversion errors
 */
function fromNative(e, where) {
  if (e instanceof LumenflowError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.startsWith('{"code"')) {
    try {
      const body = JSON.parse(msg);
      const make = CLASSES[body.code];
      if (make) return make(body.message, body.diagnostics);
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

// ---------------------------------------------------------------------------------
// Argument translation

/**
 * JSON text of `value` for the core. Cyclic objects and BigInt (which JSON cannot
 * hold) are rejected here, with the argument's name.
 */
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

function objectJson(value, what) {
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(`${what}: must be an object, not ${describe(value)}`);
  }
  return toJson(value, what);
}

function optionalObjectJson(value, what) {
  return value === undefined || value === null ? undefined : objectJson(value, what);
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
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

// ---------------------------------------------------------------------------------
// Decisions

/**
 * The answer to "may this action run?", with everything that led to it
 * (spec/decision.md). `toJSON()` gives the core's serialisation (snake_case, as in the
 * spec and the evidence).
 */
class Decision {
  /**
   * @param {object | string | (() => string)} source the core's serialisation, its JSON
   *   text, or a function giving that text (called when a detail is first read)
   * @param {string} [effect] the effect, when `source` is a function
   */
  constructor(source, effect) {
    /** @private */
    this._source = source;
    /** @private */
    this._parsed = typeof source === 'object' ? source : undefined;
    /** `allow`, `deny` or `require_approval`. */
    this.effect = effect ?? this._raw.effect;
  }
  /** @private the core's serialisation, computed and parsed on first use */
  get _raw() {
    if (this._parsed === undefined) {
      const text = typeof this._source === 'function' ? this._source() : this._source;
      this._parsed = JSON.parse(text);
      this._source = undefined;
    }
    return this._parsed;
  }
  /** A one-line explanation. */
  get reason() {
    return this._raw.reason;
  }
  /** True if the effect is allow. */
  get allowed() {
    return this.effect === 'allow';
  }
  /** `rule`, `default` (or another value of the spec). */
  get decidedBy() {
    return this._raw.decided_by;
  }
  /** The rules that produced the effect: `{policy, rule}`. */
  get decidingRules() {
    return this._raw.deciding_rules;
  }
  /** Every rule that matched, with its effect and reason. */
  get matched() {
    return this._raw.matched;
  }
  /** Rules whose condition failed to evaluate. */
  get errors() {
    return this._raw.errors;
  }
  /** Refused loosening attempts and other notes. */
  get warnings() {
    return this._raw.warnings;
  }
  /** The policies, in layer order, with their digests. */
  get policies() {
    return this._raw.policies;
  }
  /** Who may approve, when the effect is require_approval. */
  get approvers() {
    return this._raw.approvers;
  }
  /**
   * Evaluation time in nanoseconds (for a pure `PolicySet.decide`, of the evaluation
   * that produced the details: they are computed again, identically, when first read).
   */
  get evalNs() {
    return this._raw.eval_ns;
  }
  /** Approval terms (request, quorum, expiry...) of a governed decision, if any. */
  get approval() {
    return this._raw.approval ?? null;
  }
  /** What each budget made of the action (governed decisions only). */
  get budgets() {
    return this._raw.budgets ?? [];
  }
  /** The core's serialisation. */
  toJSON() {
    return this._raw;
  }
}

/** A decision recorded as evidence: the decision and its record's id and hash. */
class Governed {
  constructor(n) {
    /** The decision record's id (`<stream>:<seq>`), for `Governor.record`. */
    this.id = n.id;
    /** The decision record's hash. */
    this.hash = n.hash;
    /** `allow`, `deny`, `approval_required` or `budget_exceeded` (the core's verdict). */
    this.verdict = n.verdict;
    /** The approval request this decision opened, if it requires approval. */
    this.request = n.request ?? null;
    /** The decision. */
    this.decision = new Decision(n.decision);
  }
  /** The decision's effect. */
  get effect() {
    return this.decision.effect;
  }
  /** True if the effect is allow. */
  get allowed() {
    return this.decision.allowed;
  }
  toJSON() {
    return { id: this.id, hash: this.hash, verdict: this.verdict, request: this.request, decision: this.decision.toJSON() };
  }
}

// ---------------------------------------------------------------------------------
// Policies

/** Layered policies (organisation, team, task...), loaded and compiled once. */
class PolicySet {
  /** @private use PolicySet.fromFiles / PolicySet.fromYaml */
  constructor(handle) {
    if (!(handle instanceof native.NativePolicies)) {
      throw new InvalidArgumentError('use PolicySet.fromFiles(...) or PolicySet.fromYaml(...)');
    }
    /** @private */
    this._native = handle;
  }

  /** Loads policy files (YAML or JSON) as layers, in order. */
  static fromFiles(...paths) {
    const list = stringList(paths.flat(), 'policy files');
    return new PolicySet(call('PolicySet.fromFiles', () => native.NativePolicies.fromFiles(list)));
  }

  /**
   * Loads policies from texts. Each layer is a string, or `{text, origin}` where `origin`
   * names it in error messages.
   */
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

  /** Decides `action` in `context`. Pure: nothing is recorded. */
  decide(action, context) {
    const a = objectJson(action, 'action');
    const c = optionalObjectJson(context, 'context');
    const effect = call('decide', () => this._native.decide(a, c));
    const handle = this._native;
    return new Decision(() => call('decide', () => handle.decideJson(a, c)), effect);
  }

  /** Replays the decisions of an evidence directory or bundle under these policies. */
  replay(path) {
    const p = expectString(path, 'path');
    return JSON.parse(call('replay', () => this._native.replay(p)));
  }

  /** Runs a policy test file (spec/policy-tests.md); returns its report. */
  runTests(path) {
    const p = expectString(path, 'test file');
    return JSON.parse(call('runTests', () => this._native.runTests(p)));
  }
}

function policiesOf(options) {
  if (options.policies !== undefined) {
    if (!(options.policies instanceof PolicySet)) {
      throw new InvalidArgumentError('options.policies: must be a PolicySet');
    }
    return options.policies;
  }
  if (options.policy === undefined) {
    throw new InvalidArgumentError('options.policy: required (a policy file, or a list of them as layers)');
  }
  return PolicySet.fromFiles(stringList(options.policy, 'options.policy'));
}

const OPEN_KEYS = new Set([
  'policy',
  'policies',
  'evidence',
  'key',
  'context',
  'durability',
  'segmentBytes',
  'redact',
  'manualClock',
]);

function openArgs(options) {
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(`Governor options: must be an object, not ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!OPEN_KEYS.has(k)) {
      throw new InvalidArgumentError(`Governor options: unknown option \`${k}\` (${[...OPEN_KEYS].join(', ')})`);
    }
  }
  const dir = expectString(options.evidence, 'options.evidence');
  const key = expectString(options.key, 'options.key');
  const policies = policiesOf(options);
  const rest = {};
  if (options.context !== undefined) rest.context = options.context;
  if (options.durability !== undefined) rest.durability = options.durability;
  if (options.segmentBytes !== undefined) rest.segmentBytes = options.segmentBytes;
  if (options.redact !== undefined) rest.redact = options.redact;
  if (options.manualClock !== undefined) rest.manualClock = expectString(options.manualClock, 'options.manualClock');
  return [dir, policies, key, toJson(rest, 'Governor options')];
}

// ---------------------------------------------------------------------------------
// The governor

function outputBytes(value) {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return Buffer.from(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  try {
    const t = JSON.stringify(value);
    return t === undefined ? undefined : Buffer.from(t);
  } catch {
    return undefined; // not serialisable (cyclic, BigInt): no digest
  }
}

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

const WRAP_KEYS = new Set(['actor', 'session', 'run', 'metadata', 'context', 'args', 'cost', 'settle']);

/**
 * Decides actions under policies and records every decision and outcome as signed,
 * hash-chained evidence, before anything runs.
 */
class Governor {
  /**
   * Opens (or creates) an evidence directory. Blocks while the store opens; see
   * `Governor.open` for the asynchronous form.
   * @param {object} options `{policy | policies, evidence, key, context?, durability?, segmentBytes?, redact?}`
   */
  constructor(options) {
    if (options instanceof native.NativeGovernor) {
      this._native = options;
      return;
    }
    const [dir, policies, key, rest] = openArgs(options);
    /** @private */
    this._native = call('Governor', () => native.NativeGovernor.open(dir, policies._native, key, rest));
  }

  /** Opens a governor on a worker thread (does not block the event loop). */
  static async open(options) {
    const [dir, policies, key, rest] = openArgs(options);
    let handle;
    try {
      handle = await native.openGovernorAsync(dir, policies._native, key, rest);
    } catch (e) {
      throw fromNative(e, 'Governor.open');
    }
    return new Governor(handle);
  }

  /** The signing key's id. */
  get keyId() {
    return call('keyId', () => this._native.keyId);
  }

  /** Whether `close()` was called. */
  get closed() {
    return this._native.closed;
  }

  /**
   * Decides `action` (in `context`, or the governor's) and records the decision before
   * returning. A deny is closed at once; otherwise call `record` with the outcome.
   * @returns {Governed}
   */
  decide(action, context) {
    const a = objectJson(action, 'action');
    const c = optionalObjectJson(context, 'context');
    return new Governed(call('decide', () => this._native.decide(a, c)));
  }

  /**
   * Records how decision `id` turned out.
   * @param {string} id
   * @param {{status: 'success'|'failure', output?: string|Uint8Array, durationMs?: number, error?: string, cost?: number, tokens?: number}} outcome
   * @returns {string} the outcome record's id
   */
  record(id, outcome) {
    expectString(id, 'decision id');
    if (!isPlainObject(outcome)) {
      throw new InvalidArgumentError(`outcome: must be an object, not ${describe(outcome)}`);
    }
    const { output, ...rest } = outcome;
    expectString(rest.status, 'outcome.status');
    if (output !== undefined && typeof output !== 'string' && !(output instanceof Uint8Array)) {
      throw new InvalidArgumentError('outcome.output: must be a string or bytes');
    }
    for (const k of ['durationMs', 'cost', 'tokens']) {
      if (rest[k] !== undefined && !Number.isFinite(rest[k])) {
        throw new InvalidArgumentError(`outcome.${k}: must be a finite number`);
      }
    }
    if (rest.tokens !== undefined && !Number.isSafeInteger(rest.tokens)) {
      throw new InvalidArgumentError('outcome.tokens: must be an integer');
    }
    if (rest.error !== undefined && typeof rest.error !== 'string') {
      throw new InvalidArgumentError('outcome.error: must be a string');
    }
    const text = toJson(rest, 'outcome');
    return call('record', () => this._native.record(id, text, outputBytes(output)));
  }

  /**
   * Approves approval request `request` as `approver` (an id, or `{id, roles}`); returns
   * the request as it stands (`state`: pending, approved, rejected, expired, used).
   */
  approve(request, approver, reason = '') {
    const [r, a, why] = voteArgs(request, approver, reason, 'approver');
    return JSON.parse(call('approve', () => this._native.approve(r, a, why)));
  }

  /** Rejects approval request `request` as `approver` (one reject closes it). */
  reject(request, approver, reason = '') {
    const [r, a, why] = voteArgs(request, approver, reason, 'approver');
    return JSON.parse(call('reject', () => this._native.reject(r, a, why)));
  }

  /** One approval request as it stands now. */
  approval(request) {
    const r = expectString(request, 'request');
    return JSON.parse(call('approval', () => this._native.approval(r)));
  }

  /** Every approval request of the log, oldest first. */
  approvals() {
    return JSON.parse(call('approvals', () => this._native.approvals()));
  }

  /** Every budget account charged so far: `{budget, account, spent, limit, remaining, unit}`. */
  budgets() {
    return JSON.parse(call('budgets', () => this._native.budgets()));
  }

  /**
   * Overrides a deny (break-glass) as `who`, with a reason; `who` must be allowed by the
   * deciding rules' `overridable_by`. Returns an allowing decision: run the action and
   * record its outcome.
   * @returns {Governed}
   */
  overrideDeny(decisionId, who, reason) {
    const [d, w, why] = voteArgs(decisionId, who, reason, 'who');
    return new Governed(call('overrideDeny', () => this._native.overrideDeny(d, w, why)));
  }

  /** Moves the manual clock (option `manualClock`, for tests) forward. */
  advanceClock(seconds) {
    if (!Number.isFinite(seconds)) throw new InvalidArgumentError('seconds: must be a finite number');
    call('advanceClock', () => this._native.advanceClock(seconds));
  }

  /**
   * Wraps a tool function so that every call is decided and recorded: the call's first
   * argument is the action's `args` (or `options.args(...callArgs)` builds them), the
   * function runs only if allowed, and its success (output digested) or failure is
   * recorded. Results and errors pass through unchanged. A denied call throws `Denied`,
   * one that needs approval `ApprovalRequired` (as a rejected promise when `fn` is an
   * async function, or the wrapper is called for a promise-returning tool).
   * @param {string} tool
   * @param {Function} fn
   * @param {{actor?: string|object, session?: string, run?: string, metadata?: object, context?: object, args?: (...a: any[]) => object}} [options]
   */
  wrap(tool, fn, options = {}) {
    expectString(tool, 'tool');
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError(`wrap: fn must be a function, not ${describe(fn)}`);
    }
    if (!isPlainObject(options)) {
      throw new InvalidArgumentError(`wrap options: must be an object, not ${describe(options)}`);
    }
    for (const k of Object.keys(options)) {
      if (!WRAP_KEYS.has(k)) {
        throw new InvalidArgumentError(`wrap options: unknown option \`${k}\` (${[...WRAP_KEYS].join(', ')})`);
      }
    }
    if (options.args !== undefined && typeof options.args !== 'function') {
      throw new InvalidArgumentError('wrap options.args: must be a function building the action args');
    }
    if (options.cost !== undefined && typeof options.cost !== 'function') {
      throw new InvalidArgumentError('wrap options.cost: must be a function giving {cost?, tokens?} for a call');
    }
    if (options.settle !== undefined && typeof options.settle !== 'function') {
      throw new InvalidArgumentError('wrap options.settle: must be a function giving {cost?, tokens?} from a result');
    }
    const base = {};
    for (const k of ['actor', 'session', 'run', 'metadata']) {
      if (options[k] !== undefined) base[k] = options[k];
    }
    const gov = this;
    const toArgs = options.args ?? ((a) => (a === undefined ? {} : a));
    const isAsync = fn[Symbol.toStringTag] === 'AsyncFunction';
    const name = fn.name || tool;
    const wrapped = function (...callArgs) {
      let governed;
      try {
        const expected = options.cost ? options.cost(...callArgs) : undefined;
        governed = gov.decide({ ...base, ...expected, tool, args: toArgs(...callArgs) }, options.context);
        if (governed.verdict !== 'allow') throw refusal(governed);
      } catch (e) {
        if (isAsync) return Promise.reject(e);
        throw e;
      }
      const start = performance.now();
      let result;
      try {
        result = fn.apply(this, callArgs);
      } catch (err) {
        gov._failed(governed.id, err, start);
        throw err;
      }
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        return Promise.resolve(result).then(
          (value) => {
            gov._succeeded(governed.id, value, start, options.settle);
            return value;
          },
          (err) => {
            gov._failed(governed.id, err, start);
            throw err;
          },
        );
      }
      gov._succeeded(governed.id, result, start, options.settle);
      return result;
    };
    Object.defineProperty(wrapped, 'name', { value: `governed ${name}` });
    return wrapped;
  }

  /** @private */
  _succeeded(id, value, start, settle) {
    const durationMs = performance.now() - start;
    const spent = settle ? settle(value) : undefined;
    const outcome = { status: 'success', durationMs };
    if (spent && spent.cost !== undefined) outcome.cost = spent.cost;
    if (spent && spent.tokens !== undefined) outcome.tokens = spent.tokens;
    const text = toJson(outcome, 'outcome');
    call('record', () => this._native.record(id, text, outputBytes(value)));
  }

  /** @private */
  _failed(id, err, start) {
    const text = toJson({ status: 'failure', durationMs: performance.now() - start, error: errorMessage(err) }, 'outcome');
    call('record', () => this._native.record(id, text, undefined));
  }

  /** Signs and writes a checkpoint of the current head; returns it (null if empty). */
  checkpoint() {
    const c = call('checkpoint', () => this._native.checkpoint());
    return c === null ? null : JSON.parse(c);
  }

  /** Closes open decisions as `unknown`, writes a checkpoint, releases the store. */
  close() {
    call('close', () => this._native.close());
  }
}

// ---------------------------------------------------------------------------------
// Verification, keys, export, canonical JSON

const VERIFY_KEYS = new Set(['keys', 'keyPems', 'checkpoint', 'checkpointJson']);

function verifyOptions(options) {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(`verify options: must be an object, not ${describe(options)}`);
  }
  const out = {};
  for (const [k, v] of Object.entries(options)) {
    if (!VERIFY_KEYS.has(k)) {
      throw new InvalidArgumentError(`verify options: unknown option \`${k}\` (${[...VERIFY_KEYS].join(', ')})`);
    }
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
  if (typeof data === 'string') return Buffer.from(data);
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new InvalidArgumentError(`records: must be a string or bytes, not ${describe(data)}`);
}

/**
 * Verifies an evidence directory or a bundle file. Report: `integrity`, `completeness`,
 * `exit_code` (0 valid, 1 tampered, 2 incomplete, 3 unknown key). Blocks; see
 * `verifyAsync`.
 * @param {string} path
 * @param {{keys?: string[], keyPems?: string[], checkpoint?: string, checkpointJson?: string|object}} [options]
 */
function verify(path, options) {
  const p = expectString(path, 'path');
  const o = verifyOptions(options);
  return JSON.parse(call('verify', () => native.verifyPath(p, o)));
}

/** `verify` on a worker thread. */
async function verifyAsync(path, options) {
  const p = expectString(path, 'path');
  const o = verifyOptions(options);
  try {
    return JSON.parse(await native.verifyPathAsync(p, o));
  } catch (e) {
    throw fromNative(e, 'verifyAsync');
  }
}

/** Verifies record lines (a JSONL log's contents) against trusted keys. */
function verifyRecords(data, options) {
  const d = logBytes(data);
  const o = verifyOptions(options);
  return JSON.parse(call('verifyRecords', () => native.verifyRecords(d, o)));
}

/** `verifyRecords` on a worker thread. */
async function verifyRecordsAsync(data, options) {
  const d = logBytes(data);
  const o = verifyOptions(options);
  try {
    return JSON.parse(await native.verifyRecordsAsync(d, o));
  } catch (e) {
    throw fromNative(e, 'verifyRecordsAsync');
  }
}

/** Generates an Ed25519 key pair: `path` (private, 0600) and `path.pub`; returns its id. */
function generateKey(path) {
  const p = expectString(path, 'path');
  return call('generateKey', () => native.generateKey(p));
}

/** Exports an evidence directory as a `bundle` (default), `jsonl` or `csv`; returns the record count. */
function exportEvidence(dir, out, format = 'bundle') {
  const d = expectString(dir, 'dir');
  const o = expectString(out, 'out');
  const f = expectString(format, 'format');
  return call('exportEvidence', () => native.exportEvidence(d, o, f));
}

/** RFC 8785 canonical JSON of a value (what LumenFlow hashes and signs). */
function canonicalize(value) {
  const t = toJson(value, 'value');
  return call('canonicalize', () => native.canonicalize(t));
}

module.exports = {
  Governor,
  PolicySet,
  Decision,
  Governed,
  verify,
  verifyAsync,
  verifyRecords,
  verifyRecordsAsync,
  generateKey,
  exportEvidence,
  canonicalize,
  LumenflowError,
  PolicyError,
  ActionError,
  KeyError,
  EvidenceError,
  ApprovalError,
  InvalidArgumentError,
  InternalError,
  Denied,
  ApprovalRequired,
  BudgetExceeded,
  version: native.nativeVersion(),
};
// For `import lumenflow from 'lumenflow'` under TypeScript's CommonJS interop.
module.exports.default = module.exports;
