// ESM entry point: the CommonJS module's exports themselves (one instance of each class,
// so `instanceof` works whichever way the package is loaded).
export * from './index.js';
export { default } from './index.js';
