import { Type, type Static } from '@sinclair/typebox';
import { FreezeState } from './alerts';
import { DaemonTargetCandidate } from './daemon';

// Exporter read-only shapes besides experiments and events: discoverable targets, fault kinds
// with their support per daemon, and health. The Grafana data source reads these as they are.

/** One thing a local-mode selector can pick, on one daemon (`GET /api/v1/targets`): the daemon's own listing plus its name. */
export const TargetCandidate = Type.Object(
  {
    daemon: Type.String({ description: 'name of the daemon (host) the target lives on' }),
    ...DaemonTargetCandidate.properties,
  },
  { $id: 'TargetCandidate' },
);
export type TargetCandidate = Static<typeof TargetCandidate>;

export const TargetList = Type.Object({ items: Type.Array(TargetCandidate) }, { $id: 'TargetList' });
export type TargetList = Static<typeof TargetList>;

export const KindInfo = Type.Object(
  {
    kind: Type.String(),
    title: Type.String(),
    description: Type.String(),
    scope: Type.String({ description: 'process, network, host or pod' }),
    targetRequired: Type.Boolean(),
    requires: Type.Array(Type.String()),
    schema: Type.Unknown({ description: 'JSON schema of spec.fault.params' }),
    support: Type.Array(Type.Object({ daemon: Type.String(), supported: Type.Boolean(), reason: Type.Optional(Type.String()) })),
  },
  { $id: 'KindInfo' },
);
export type KindInfo = Static<typeof KindInfo>;

export const KindList = Type.Object({ items: Type.Array(KindInfo) }, { $id: 'KindList' });
export type KindList = Static<typeof KindList>;

export const DaemonHealth = Type.Object({
  name: Type.String(),
  url: Type.String(),
  up: Type.Boolean(),
  version: Type.Optional(Type.String()),
  faults: Type.Optional(Type.Integer()),
  lastSeen: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
});
export type DaemonHealth = Static<typeof DaemonHealth>;

/** `GET /api/v1/health`. */
export const Health = Type.Object(
  {
    status: Type.Literal('ok'),
    name: Type.Literal('faultline-exporter'),
    version: Type.String(),
    daemons: Type.Array(DaemonHealth),
    freeze: Type.Optional(FreezeState),
    store: Type.Optional(
      Type.Object(
        {
          degraded: Type.Boolean({ description: 'the database file takes no writes (disk full, I/O error): stopping chaos works, new chaos is refused' }),
          error: Type.Optional(Type.String({ description: 'the last write error while degraded' })),
          since: Type.Optional(Type.String({ description: 'since when writes fail' })),
          pendingWrites: Type.Integer({ description: 'records kept in memory until the file takes writes again' }),
          bytes: Type.Optional(Type.Integer({ description: 'size of the database file and its write-ahead log' })),
        },
        { description: 'the exporter\'s data store (SQLite under --data-dir)' },
      ),
    ),
    guards: Type.Optional(
      Type.Object({
        firingAlerts: Type.Integer({ description: 'alerts reported firing by webhooks and not yet resolved' }),
        promqlGuards: Type.Integer({ description: 'running experiments whose PromQL guards are evaluated' }),
        prometheus: Type.Union([Type.String(), Type.Null()], { description: '--prometheus-url, or null' }),
      }),
    ),
  },
  { $id: 'Health' },
);
export type Health = Static<typeof Health>;
