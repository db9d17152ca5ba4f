import { Type } from '@sinclair/typebox';
import { ApiError } from '../../api/errors';
import { EventList, EventQuery } from '../../api/events';
import type { EventBus } from '../event-bus';
import type { EventStore } from '../store/event-log';
import { route, type Route } from './route';

// Event queries (time range, filters, cursor) and the live stream.

/** RFC 3339 time or epoch milliseconds → epoch ms; 400 naming the query field otherwise. */
export function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^[0-9]{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms) || !/^[0-9]{1,15}$|^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw ApiError.invalid(`invalid query: /query/${field} must be an RFC 3339 time or epoch milliseconds`, [
      { field: `/query/${field}`, reason: 'must be an RFC 3339 time or epoch milliseconds' },
    ]);
  }
  return ms;
}

const StreamQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String()),
    experiment: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    type: Type.Optional(Type.String({ description: 'event types, comma separated' })),
    lastEventId: Type.Optional(Type.String({ description: 'as the Last-Event-ID header (EventSource cannot set headers): replay what came after it' })),
  },
  { additionalProperties: false },
);

export function eventRoutes(store: EventStore, bus: EventBus): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/events',
      role: 'viewer',
      summary: 'events, oldest first, cursor paginated',
      query: EventQuery,
      response: { description: 'a page of events', schema: EventList, name: 'EventList' },
      handler: ({ query: q, res }) => {
        const fromMs = parseTime(q.from, 'from');
        const toMs = parseTime(q.to, 'to');
        const limit = q.limit === undefined ? 1000 : Number(q.limit);
        if (limit < 1 || limit > 10_000) throw ApiError.invalid('invalid query: /query/limit must be 1 to 10000', [{ field: '/query/limit', reason: 'must be 1 to 10000' }]);
        if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
          throw ApiError.invalid('invalid query: /query/from is after /query/to', [{ field: '/query/from', reason: 'is after to' }]);
        }
        const page = store.queryJson({
          fromMs,
          toMs,
          namespace: q.namespace,
          kind: q.kind,
          experiment: q.experiment,
          type: q.type,
          after: q.after === undefined ? undefined : Number(q.after),
          limit,
        });
        // An EventList (api/events.ts), spliced from the store's JSON text: the same bytes res.json
        // would send for { items, nextCursor? }, without building and stringifying a page of objects.
        const cursor: Pick<EventList, 'nextCursor'> = page.more && page.count ? { nextCursor: String(page.lastId) } : {};
        res.set('Content-Type', 'application/json');
        res.send(`{"items":${page.json}${cursor.nextCursor === undefined ? '' : `,"nextCursor":${JSON.stringify(cursor.nextCursor)}`}}`);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/events/stream',
      role: 'viewer',
      summary: 'Server-Sent Events: `id:` + `data: <Event JSON>`; Last-Event-ID (header or query lastEventId) replays what was missed',
      query: StreamQuery,
      response: { description: 'an endless event stream', contentType: 'text/event-stream' },
      handler: ({ query: q, req, res }) => {
        const last = req.header('last-event-id') ?? (q.lastEventId || undefined);
        if (last !== undefined && !/^[0-9]{1,15}$/.test(last)) {
          throw ApiError.invalid('invalid Last-Event-ID: must be an event id', [{ field: 'Last-Event-ID', reason: 'must be a whole number' }]);
        }
        const or = (v: string | undefined) => v || undefined;
        bus.stream(
          req,
          res,
          { namespace: or(q.namespace), experiment: or(q.experiment), kind: or(q.kind), types: q.type ? new Set(q.type.split(',')) : undefined },
          last === undefined ? undefined : Number(last),
        );
      },
    }),
  ];
}
