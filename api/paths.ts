// The exporter's HTTP paths under /api/v1, in one table (as api/daemon.ts keeps the daemon's): the
// Grafana plugins' client (src/client/) builds every URL from here, so a route that moves moves for
// all of them. Path segments are URI-encoded here, never by callers.

const seg = encodeURIComponent;

export const EXPORTER_API_PREFIX = '/api/v1';

export const EXPORTER_PATHS = {
  health: '/health',
  kinds: '/kinds',
  targets: '/targets',
  experiments: '/experiments',
  experiment: (namespace: string, name: string) => `/experiments/${seg(namespace)}/${seg(name)}`,
  experimentAction: (namespace: string, name: string, action: 'pause' | 'resume' | 'stop') => `/experiments/${seg(namespace)}/${seg(name)}/${action}`,
  report: (namespace: string, name: string) => `/experiments/${seg(namespace)}/${seg(name)}/report`,
  stopAll: '/stop-all',
  events: '/events',
  eventStream: '/events/stream',
  workflows: '/workflows',
  workflow: (namespace: string, name: string) => `/workflows/${seg(namespace)}/${seg(name)}`,
  workflowAbort: (namespace: string, name: string) => `/workflows/${seg(namespace)}/${seg(name)}/abort`,
  freeze: '/freeze',
} as const;
