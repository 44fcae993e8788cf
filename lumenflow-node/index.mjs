// ESM entry point: the same classes as the CommonJS one (one instance of each, so
// `instanceof` works whichever way the package is loaded).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lf = require('./index.js');

export const {
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
  version,
} = lf;
export default lf;
