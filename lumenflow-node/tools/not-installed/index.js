'use strict';
throw new Error(
  'lumenflow-node does not install @napi-rs/cross-toolchain or @napi-rs/wasm-tools: ' +
    'cross-compiling (--use-napi-cross) and WASM builds are not supported here (see package.json "overrides").',
);
