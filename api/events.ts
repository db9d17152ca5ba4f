import { Type, type Static } from '@sinclair/typebox';

// Every state change is one event; annotations, the live stream and reports are built from them.

export const EVENT_TYPES = [
  'created', 'scheduled', 'skipped', 'injecting', 'injected', 'inject-failed', 'running', 'paused', 'resumed',
  'recovering', 'recovered', 'recover-failed', 'finished', 'aborted', 'failed', 'deleted', 'guard-fired',
  'daemon-down', 'daemon-up', 'frozen', 'unfrozen', 'target-gone', 'store-degraded', 'store-recovered',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const FaultlineEvent = Type.Object(
  {
    id: Type.Integer({ description: 'monotonic; used as the SSE id and as a cursor' }),
    time: Type.String({ format: 'date-time' }),
    type: Type.String(),
    experiment: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String({ description: 'uid of the experiment run' })),
    kind: Type.Optional(Type.String()),
    target: Type.Optional(Type.String()),
    phase: Type.Optional(Type.String()),
    message: Type.String(),
    actor: Type.Optional(Type.String()),
  },
  { $id: 'Event' },
);
export type FaultlineEvent = Static<typeof FaultlineEvent>;

export const EventQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'RFC 3339 time or epoch milliseconds' })),
    to: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    experiment: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    after: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'cursor: events with id greater than this' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: '1–10000, default 1000' })),
  },
  { additionalProperties: false },
);
export type EventQuery = Static<typeof EventQuery>;

/** `GET /api/v1/events`: oldest first; pass `nextCursor` as `after` for the next page. */
export const EventList = Type.Object(
  { items: Type.Array(FaultlineEvent), nextCursor: Type.Optional(Type.String({ description: 'absent on the last page' })) },
  { $id: 'EventList' },
);
export type EventList = Static<typeof EventList>;
