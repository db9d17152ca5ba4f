import { DAEMON_ROUTES } from '../../api/daemon';
import { DAEMON_API, requestSchemas } from '../../daemon/routes';

// The daemon's route table (daemon/routes.ts) and the paths the exporter's client builds
// (DAEMON_ROUTES in api/daemon.ts) are one API: every client path is served by a row, and every row
// is reachable from a client path.

const pattern = (p: string) => new RegExp(`^${p.replace(/:[a-z]+/g, '[^/]+')}$`);
const clientPaths = Object.entries(DAEMON_ROUTES)
  .filter(([name]) => name !== 'health' && name !== 'metrics') // served before the table, without a token
  .map(([name, p]) => [name, typeof p === 'function' ? p('fault-1') : p] as const);

describe('daemon route table', () => {
  it.each(clientPaths)('the client path %s (%s) is a row of the table', (_name, p) => {
    expect(DAEMON_API.some((r) => pattern(r.path).test(p))).toBe(true);
  });

  it('every row is a path the client builds', () => {
    for (const r of DAEMON_API) expect(clientPaths.some(([, p]) => pattern(r.path).test(p))).toBe(true);
  });

  it('no two rows share a method and path, and every input schema is compiled at start', () => {
    const keys = DAEMON_API.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(requestSchemas()).toEqual(DAEMON_API.filter((r) => r.input).map((r) => r.input!.schema));
    expect(requestSchemas().length).toBeGreaterThanOrEqual(7);
  });

  it('an id that needs encoding stays one path segment', () => {
    const p = DAEMON_ROUTES.lease('a/b?c');
    expect(p).toBe('/v1/faults/a%2Fb%3Fc/lease');
    expect(pattern('/v1/faults/:id/lease').test(p)).toBe(true);
  });
});
