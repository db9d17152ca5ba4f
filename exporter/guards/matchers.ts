// The matcher parser lives in api/matchers.ts, so the panel's form checks guards with the same code
// (and the same RE2 engine) the exporter evaluates them with.
export * from '../../api/matchers';
