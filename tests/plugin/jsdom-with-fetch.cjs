// jsdom, plus Node's own fetch and web streams: the data source tests talk to a real exporter over
// HTTP (through the Grafana proxy emulation in harness/grafana-proxy.ts) and read its SSE stream.
// Use with the docblock `@jest-environment ./tests/plugin/jsdom-with-fetch.cjs`.
const { TestEnvironment } = require('jest-environment-jsdom');

const NODE_GLOBALS = ['fetch', 'Request', 'Response', 'Headers', 'ReadableStream', 'TextDecoder', 'TextEncoder', 'AbortController', 'AbortSignal', 'structuredClone'];

class JsdomWithFetch extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of NODE_GLOBALS) this.global[name] = globalThis[name];
  }
}

module.exports = JsdomWithFetch;
