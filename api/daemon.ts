import { Type, type Static } from '@sinclair/typebox';
import { RegexString } from './regex';
import { CgroupPath, Cidr, InterfaceName, NetnsRef, ObjectName } from './common';

// The node daemon's wire shapes (`/v1/...`). The exporter is the daemon's only client,
// and it builds these same objects, so both sides validate against one definition.

/**
 * A container as a pod's status names it (`containerd://<64 hex>`, `docker://…`, `cri-o://…`) or the bare id.
 * The daemon finds the container's processes by scanning /proc/<pid>/cgroup for the id, so no CRI socket is needed.
 */
export const ContainerId = Type.String({
  pattern: '^([a-z0-9-]{1,32}://)?[0-9a-f]{12,64}$',
  description: 'container id, optionally with its runtime prefix, e.g. containerd://<64 hex>',
});

/**
 * A pod, for the pod kinds (pod-kill, pod-failure, container-kill) in Kubernetes mode. Only the exporter's
 * in-process pod daemon (exporter/targets/kubernetes/pod-daemon.ts) takes it; node daemons refuse those kinds.
 */
export const PodRef = Type.Object(
  {
    namespace: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }),
    name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$' }),
    uid: Type.String({ pattern: '^[a-zA-Z0-9-]{1,64}$', description: 'the pod\'s uid: a replacement with the same name is never hit' }),
    containers: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }), { maxItems: 64, description: 'containers to act on; default all' })),
  },
  { additionalProperties: false },
);

/** What a fault acts on, on one host. All fields optional: no target = the host itself. */
export const DaemonTarget = Type.Object(
  {
    pid: Type.Optional(Type.Integer({ minimum: 1, maximum: 4194304, description: 'a process id' })),
    pidStartTime: Type.Optional(
      Type.Integer({ minimum: 0, description: 'the pid\'s start time (clock ticks since boot, /proc/<pid>/stat field 22); a reused pid is refused' }),
    ),
    processName: Type.Optional(RegexString('regular expression over the process name (comm) and command line, matching any part of either', { maxLength: 256 })),
    cgroup: Type.Optional(CgroupPath),
    netns: Type.Optional(NetnsRef),
    interface: Type.Optional(InterfaceName),
    containerId: Type.Optional(ContainerId),
    pod: Type.Optional(PodRef),
  },
  { additionalProperties: false, $id: 'DaemonTarget' },
);
export type DaemonTarget = Static<typeof DaemonTarget>;

export const LeaseSeconds = Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'the fault is reverted when the lease is not renewed in time' });

export const DaemonFaultRequest = Type.Object(
  {
    id: ObjectName,
    kind: Type.String({ minLength: 1, maxLength: 63 }),
    params: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    target: Type.Optional(DaemonTarget),
    leaseSeconds: LeaseSeconds,
  },
  { additionalProperties: false, $id: 'DaemonFaultRequest' },
);
export type DaemonFaultRequest = Static<typeof DaemonFaultRequest>;

export const LeaseRenewal = Type.Object({ leaseSeconds: Type.Optional(LeaseSeconds) }, { additionalProperties: false });
export type LeaseRenewal = Static<typeof LeaseRenewal>;

/** A process that a fault acts on, pinned with its start time. */
export const ResolvedProcess = Type.Object({ pid: Type.Integer(), startTime: Type.Integer(), comm: Type.String() });
export type ResolvedProcess = Static<typeof ResolvedProcess>;

export const DaemonFault = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown()),
    target: Type.Optional(DaemonTarget),
    /** `recovered` only in the answer to DELETE (the fault is gone from the daemon afterwards). */
    phase: Type.Union([Type.Literal('injecting'), Type.Literal('active'), Type.Literal('recovering'), Type.Literal('failed'), Type.Literal('recovered')]),
    injectedAt: Type.Optional(Type.String({ format: 'date-time' })),
    leaseExpiresAt: Type.String({ format: 'date-time' }),
    processes: Type.Optional(Type.Array(ResolvedProcess)),
    processesGone: Type.Optional(
      Type.Array(Type.Integer(), {
        description: 'pids of `processes` that have exited (or whose pid now names another process) since the fault was created; every one listed = the target is gone',
      }),
    ),
    /** Kind-specific facts learned while injecting (table names, child pids, files), for humans. */
    state: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    error: Type.Optional(Type.String()),
  },
  { $id: 'DaemonFault' },
);
export type DaemonFault = Static<typeof DaemonFault>;

export const KindSupport = Type.Object({
  kind: Type.String(),
  supported: Type.Boolean(),
  reason: Type.Optional(Type.String()),
});
export type KindSupport = Static<typeof KindSupport>;

export const DaemonInfo = Type.Object(
  {
    name: Type.String({ description: 'host name of the node' }),
    version: Type.String(),
    pid: Type.Integer(),
    capabilities: Type.Record(Type.String(), Type.Object({ available: Type.Boolean(), detail: Type.Optional(Type.String()) })),
    kinds: Type.Array(KindSupport),
    faults: Type.Integer({ description: 'faults active now' }),
    startedAt: Type.String({ format: 'date-time' }),
    watchdog: Type.Optional(
      Type.Object(
        { pid: Type.Integer(), armed: Type.Boolean({ description: 'its recover code is loaded: a crash of the daemon is reverted within a second' }) },
        { description: "the daemon's watchdog: reverts every journaled fault when the daemon dies" },
      ),
    ),
  },
  { $id: 'DaemonInfo' },
);
export type DaemonInfo = Static<typeof DaemonInfo>;

/** `GET /v1/faults`. */
export const DaemonFaultList = Type.Object({ faults: Type.Array(DaemonFault) }, { $id: 'DaemonFaultList' });
export type DaemonFaultList = Static<typeof DaemonFaultList>;

/** One thing a selector could pick on this host (`GET /v1/targets`); the exporter adds the daemon's name. */
export const DaemonTargetCandidate = Type.Object(
  {
    pid: Type.Optional(Type.Integer()),
    pidStartTime: Type.Optional(Type.Integer({ description: 'start time of the pid (clock ticks since boot): pins the process' })),
    processName: Type.Optional(Type.String({ description: 'comm of the process' })),
    cmdline: Type.Optional(Type.String()),
    cgroup: Type.Optional(Type.String()),
    netns: Type.Optional(Type.String()),
    description: Type.String(),
  },
  { $id: 'DaemonTargetCandidate' },
);
export type DaemonTargetCandidate = Static<typeof DaemonTargetCandidate>;

export const DaemonTargetList = Type.Object({ targets: Type.Array(DaemonTargetCandidate) }, { $id: 'DaemonTargetList' });
export type DaemonTargetList = Static<typeof DaemonTargetList>;

/**
 * Query of `GET /v1/targets`: `pids=12,34` lists only those (no scan of /proc); `processName=REGEX` only the
 * processes whose comm or command line matches (what a processName selector asks). Either way the
 * listing is identity only: no cgroup, no netns, no named namespaces.
 */
export const DaemonTargetQuery = Type.Object(
  {
    pids: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,6}(,[1-9][0-9]{0,6}){0,1023}$', description: 'comma-separated pids, at most 1024' })),
    processName: Type.Optional(RegexString('regular expression over comm or the command line, matching any part of either', { maxLength: 256 })),
  },
  { additionalProperties: false },
);

/**
 * `POST /v1/recover`: reverts several faults in one request. The exporter batches the DELETEs it makes in
 * the same moment (an alert aborting a hundred experiments) into one of these per daemon, so reverting a
 * fleet costs one round trip and one journal sync instead of a hundred.
 */
export const DaemonRecoverRequest = Type.Object(
  { ids: Type.Array(ObjectName, { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'fault ids to revert' }) },
  { additionalProperties: false, $id: 'DaemonRecoverRequest' },
);
export type DaemonRecoverRequest = Static<typeof DaemonRecoverRequest>;

/** One id's outcome: `status` is what `DELETE /v1/faults/:id` would have answered (200, 404 or 500). */
export const DaemonRecoverItem = Type.Object({
  id: Type.String(),
  status: Type.Integer(),
  fault: Type.Optional(DaemonFault),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type DaemonRecoverItem = Static<typeof DaemonRecoverItem>;

export const DaemonRecoverResult = Type.Object({ items: Type.Array(DaemonRecoverItem) }, { $id: 'DaemonRecoverResult' });
export type DaemonRecoverResult = Static<typeof DaemonRecoverResult>;

/** `PUT /v1/leases`: several leases renewed in one request (the exporter renews a tick's worth per daemon this way). */
export const LeaseRenewalBatch = Type.Object(
  {
    ids: Type.Array(ObjectName, { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'fault ids whose lease to renew' }),
    leaseSeconds: Type.Optional(LeaseSeconds),
  },
  { additionalProperties: false, $id: 'LeaseRenewalBatch' },
);
export type LeaseRenewalBatch = Static<typeof LeaseRenewalBatch>;

/** One item per id, `status` as its own `PUT /v1/faults/:id/lease` would have answered (200, 404, 409). */
export const DaemonLeaseResult = Type.Object({ items: Type.Array(DaemonRecoverItem) }, { $id: 'DaemonLeaseResult' });
export type DaemonLeaseResult = Static<typeof DaemonLeaseResult>;

/**
 * Routes (all JSON; bearer token when the daemon has one, except /healthz):
 * - `POST /v1/faults` DaemonFaultRequest → 201 DaemonFault (applied); 200 when the same id with the same
 *   kind, params and target exists (idempotent retry, lease untouched); 409 same id, different fault;
 *   400 bad input / unknown kind (details name the field); 422 target or host problem, or kind unsupported here.
 * - `PUT /v1/faults/:id/lease` LeaseRenewal → 200 DaemonFault (lease renewed from now); 404 unknown id.
 * - `PUT /v1/leases` LeaseRenewalBatch → 200 DaemonLeaseResult: each id renewed, each item with the status its own
 *   lease PUT would have had; 400 bad input (nothing renewed).
 * - `DELETE /v1/faults/:id` → 200 DaemonFault with phase `recovered` once reverted; 404 unknown id
 *   (nothing to revert: already recovered, lease expired, or never created — safe to treat as done).
 * - `POST /v1/recover` DaemonRecoverRequest → 200 DaemonRecoverResult: every id reverted concurrently, each
 *   item with the status its own DELETE would have had; 400 bad input (nothing reverted).
 * - `GET /v1/targets[?pids=1,2]` → DaemonTargetList: processes on this host a selector could pick (pid, start
 *   time, name, command line; cgroup and netns on a full listing) and named network namespaces; protected
 *   processes, kernel threads and zombies left out. 400 for a bad `pids`.
 * - `GET /v1/faults` → DaemonFaultList; `GET /v1/faults/:id` → DaemonFault; `GET /v1/info` → DaemonInfo.
 * - `GET /healthz` → `{status: "ok"}`; `GET /metrics` → Prometheus text.
 */
/**
 * `POST /v1/addresses`: the addresses (no loopback, no link-local) of a target's network namespace: a pid's,
 * a container's, a named netns. How the exporter turns a peer selector (api/peer.ts) on this host into `peers`.
 */
export const DaemonAddressesRequest = Type.Object({ target: DaemonTarget }, { additionalProperties: false, $id: 'DaemonAddressesRequest' });
export type DaemonAddressesRequest = Static<typeof DaemonAddressesRequest>;
export const DaemonAddresses = Type.Object({ addresses: Type.Array(Type.String()) }, { $id: 'DaemonAddresses' });
export type DaemonAddresses = Static<typeof DaemonAddresses>;

/** `PUT /v1/faults/:id/peers`: a running network fault's peers, replaced atomically (a peer selector re-resolved). */
export const DaemonPeersUpdate = Type.Object(
  { peers: Type.Array(Cidr, { minItems: 1, maxItems: 64 }) },
  { additionalProperties: false, $id: 'DaemonPeersUpdate' },
);
export type DaemonPeersUpdate = Static<typeof DaemonPeersUpdate>;

/**
 * How long a daemon keeps an idle connection open (its `Keep-Alive: timeout=` answer header). Longer than
 * the exporter's renewal period (a third of the lease: 10 s at the default 30 s lease), so the connection that
 * carried the last renewal is still open when an abort has to go out: a stop then costs one write per
 * daemon, not a connect, an accept and a wake-up more at the moment every daemon is being woken. The
 * exporter closes its side first (exporter/daemons.ts), and Node's agent closes a second before any
 * shorter timeout a daemon announces (an older daemon: 5 s).
 */
export const DAEMON_KEEP_ALIVE_MS = 75_000;

export const DAEMON_ROUTES = {
  addresses: '/v1/addresses',
  peers: (id: string) => `/v1/faults/${encodeURIComponent(id)}/peers`,
  faults: '/v1/faults',
  fault: (id: string) => `/v1/faults/${encodeURIComponent(id)}`,
  lease: (id: string) => `/v1/faults/${encodeURIComponent(id)}/lease`,
  leases: '/v1/leases',
  recover: '/v1/recover',
  targets: '/v1/targets',
  info: '/v1/info',
  health: '/healthz',
  metrics: '/metrics',
} as const;
