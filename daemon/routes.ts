import { hostname } from 'node:os';
import type { Static, TSchema } from '@sinclair/typebox';
import {
  DaemonAddressesRequest,
  DaemonFaultRequest,
  DaemonPeersUpdate,
  DaemonRecoverRequest,
  DaemonTargetQuery,
  LeaseRenewal,
  LeaseRenewalBatch,
  type DaemonAddresses,
  type DaemonFaultList,
  type DaemonInfo,
  type DaemonLeaseResult,
  type DaemonRecoverItem,
  type DaemonRecoverResult,
  type DaemonTargetList,
} from '../api/daemon';
import { ApiError } from '../api/errors';
import { compileUserRegex } from '../api/regex';
import { addressesOf } from './resolve/addresses';
import { listCandidates } from './resolve/candidates';
import type { ServerDeps } from './server';

// The daemon's API (behind its token), one table: method, path pattern, the shape of the request's input
// and the handler. daemon/server.ts registers every row; the schemas are validated before the handler
// runs and compiled right after the daemon listens (precompileRequestSchemas), all from here, so none is
// forgotten. The exporter's client builds its paths with DAEMON_ROUTES (api/daemon.ts); a unit test
// holds each of those to a row of this table. The shapes are documented beside them in api/daemon.ts.

/** Where a route's input comes from, its shape, and the name its 400s give it ("invalid <what>: ..."). */
interface Input<S extends TSchema> {
  from: 'body' | 'query';
  schema: S;
  what: string;
  /** An absent body counts as {} (a lease renewal may say nothing). */
  optional?: boolean;
}

/** What a handler answers: JSON, with 200 unless it says otherwise. */
export interface Answer {
  status?: number;
  body: unknown;
}

export interface DaemonRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  input?: Input<TSchema>;
  handle(d: ServerDeps, input: unknown, params: Record<string, string>): Answer | Promise<Answer>;
}

function route<S extends TSchema>(
  method: DaemonRoute['method'],
  path: string,
  input: Input<S> | undefined,
  handle: (d: ServerDeps, input: Static<S>, params: Record<string, string>) => Answer | Promise<Answer>,
): DaemonRoute {
  return { method, path, input, handle: handle as DaemonRoute['handle'] };
}

const ok = (body: unknown): Answer => ({ body });

export const DAEMON_API: readonly DaemonRoute[] = [
  route('get', '/v1/info', undefined, (d) => {
    const info: DaemonInfo = {
      name: hostname(),
      version: d.version,
      pid: process.pid,
      capabilities: d.caps,
      kinds: d.manager.kinds(),
      faults: d.manager.count(),
      startedAt: d.startedAt.toISOString(),
    };
    const watchdog = d.watchdog?.();
    if (watchdog) info.watchdog = watchdog;
    return ok(info);
  }),

  route('get', '/v1/faults', undefined, (d) => ok({ faults: d.manager.list() } satisfies DaemonFaultList)),

  // the kind's own params are checked by the manager, against the kind named here
  route('post', '/v1/faults', { from: 'body', schema: DaemonFaultRequest, what: 'fault' }, async (d, req) => {
    const { fault, created } = await d.manager.create(req);
    return { status: created ? 201 : 200, body: fault };
  }),

  route('get', '/v1/faults/:id', undefined, (d, _input, p) => ok(d.manager.get(p.id))),

  route('put', '/v1/faults/:id/lease', { from: 'body', schema: LeaseRenewal, what: 'lease renewal', optional: true }, async (d, body, p) =>
    ok(await d.manager.renew(p.id, body.leaseSeconds)),
  ),

  route('put', '/v1/leases', { from: 'body', schema: LeaseRenewalBatch, what: 'lease renewals' }, async (d, { ids, leaseSeconds }) => {
    const items = await Promise.all(
      ids.map(async (id): Promise<DaemonRecoverItem> => {
        try {
          return { id, status: 200, fault: await d.manager.renew(id, leaseSeconds) };
        } catch (err) {
          const e = err instanceof ApiError ? err : new ApiError(500, 'internal', (err as Error).message);
          return { id, status: e.status, error: { code: e.code, message: e.message } };
        }
      }),
    );
    return ok({ items } satisfies DaemonLeaseResult);
  }),

  route('put', '/v1/faults/:id/peers', { from: 'body', schema: DaemonPeersUpdate, what: 'peers update' }, async (d, { peers }, p) => ok(await d.manager.setPeers(p.id, peers))),

  route('delete', '/v1/faults/:id', undefined, async (d, _input, p) => ok(await d.manager.recover(p.id, 'requested'))),

  route('get', '/v1/targets', { from: 'query', schema: DaemonTargetQuery, what: 'targets query' }, async (d, q) => {
    const pids = q.pids?.split(',').map(Number);
    if (pids?.some((p) => p > 4194304)) throw ApiError.invalid('invalid targets query: /pids has a pid above 4194304', [{ field: '/pids', reason: 'pids are at most 4194304' }]);
    // RE2 (the schema already refused what it cannot parse): linear over every command line on the host.
    const processName = q.processName === undefined ? undefined : compileUserRegex(q.processName, { anchored: false, field: '/processName' });
    return ok({ targets: await listCandidates(d.protection, { pids, processName }) } satisfies DaemonTargetList);
  }),

  route('post', '/v1/addresses', { from: 'body', schema: DaemonAddressesRequest, what: 'addresses request' }, async (d, { target }) =>
    ok({ addresses: await addressesOf(target, d.protection) } satisfies DaemonAddresses),
  ),

  route('post', '/v1/recover', { from: 'body', schema: DaemonRecoverRequest, what: 'recover request' }, async (d, { ids }) =>
    ok({ items: await d.manager.recoverMany(ids) } satisfies DaemonRecoverResult),
  ),
];

/** Every request schema of the table: what precompileRequestSchemas compiles. */
export function requestSchemas(): TSchema[] {
  return DAEMON_API.flatMap((r) => (r.input ? [r.input.schema] : []));
}
