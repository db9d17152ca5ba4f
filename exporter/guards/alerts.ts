import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { AlertmanagerWebhook, AlertWebhookResult, GrafanaWebhook } from '../../api/alerts';
import { ApiError } from '../../api/errors';
import type { AbortedBy } from '../../api/experiment';
import { storeHealth } from '../store/health';
import { groupCommit } from '../store/group-commit';
import { formatSelector, parseSelector, selectorMatches, type Selector } from './matchers';

// Which experiments a firing alert stops, and the registry of firing alerts that refuses starts.
//
// A firing alert stops an experiment when
//   - one of its `spec.guards.alerts` selectors matches the alert's labels (entries are OR-ed:
//     listing two alerts guards against either; a mistaken OR stops too often, never too rarely),
//   - the alert has `faultline_stop_namespace="<the experiment's namespace>"`,
//   - the alert has `faultline_stop="all"`, or `faultline_freeze="true"` (which also freezes).
// Resolved alerts change nothing but leave the registry. Repeats are idempotent: an experiment
// already ended is not active any more, and one being aborted right now is aborted once.

export const STOP_ALL_LABEL = 'faultline_stop';
export const STOP_NAMESPACE_LABEL = 'faultline_stop_namespace';
export const FREEZE_LABEL = 'faultline_freeze';

/** Phases in which a firing alert aborts an experiment. */
const STOPPABLE = new Set(['Pending', 'Injecting', 'Running', 'Paused']);

/** One alert, whatever sent it. */
export interface Alert {
  source: 'alertmanager' | 'grafana';
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  generatorURL?: string;
  startsAt?: string;
  endsAt?: string;
}

/** The part of an experiment the guard reads. */
export interface GuardedExperiment {
  namespace: string;
  name: string;
  phase: string;
  guards?: { alerts?: string[] };
}

export interface PlannedStop {
  namespace: string;
  name: string;
  alert: Alert;
  /** Which rule stopped it: the guard selector, or the faultline_* label. */
  rule: string;
}

export function alertName(a: Alert): string {
  return a.labels.alertname || a.fingerprint;
}

const LABEL_VALUE_MAX = 120;

/**
 * The alert as Prometheus writes a series: `HighErrorRate{service="checkout",severity="page"}` (the
 * other labels sorted, values quoted, very long ones cut). Names what fired and where at a glance.
 */
export function alertWithLabels(a: Alert): string {
  const rest = Object.keys(a.labels)
    .filter((k) => k !== 'alertname')
    .sort()
    .map((k) => {
      const v = a.labels[k];
      return `${k}=${JSON.stringify(v.length > LABEL_VALUE_MAX ? `${v.slice(0, LABEL_VALUE_MAX)}…` : v)}`;
    });
  return `${alertName(a)}${rest.length ? `{${rest.join(',')}}` : ''}`;
}

/**
 * Human description of the alert for events, abort reasons and 409s: its name and labels. Where it
 * comes from (generatorURL) is a field of its own (abortDetail → status.abortedBy), not in the text.
 */
export function describeAlert(a: Alert): string {
  return `alert ${alertWithLabels(a)}`;
}

/** The reason a guard abort records (status.message, the `aborted` event). */
export function abortReason(s: Pick<PlannedStop, 'alert' | 'rule'>): string {
  return `aborted by ${describeAlert(s.alert)} (matched ${s.rule})`;
}

/** The same abort as fields (status.abortedBy): shown by describe and the report, generatorURL included. */
export function abortDetail(s: Pick<PlannedStop, 'alert' | 'rule'>): AbortedBy {
  const a = s.alert;
  return {
    alert: alertName(a),
    labels: { ...a.labels },
    fingerprint: a.fingerprint,
    source: a.source,
    rule: s.rule,
    ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
    ...(a.startsAt ? { startsAt: a.startsAt } : {}),
  };
}

/** The `guard-fired` event's message: which alert stopped which experiments. */
export function firedMessage(a: Alert, stops: Pick<PlannedStop, 'namespace' | 'name'>[]): string {
  return `${describeAlert(a)} stopped ${stops.map((s) => `${s.namespace}/${s.name}`).join(', ')}`;
}

/** Labels → stable fingerprint, for Grafana payloads that lack one. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const canon = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
  return createHash('sha256').update(canon).digest('hex').slice(0, 16);
}

export function fromAlertmanager(body: AlertmanagerWebhook): Alert[] {
  return body.alerts.map((a) => ({
    source: 'alertmanager',
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    fingerprint: a.fingerprint,
    generatorURL: a.generatorURL || undefined,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
  }));
}

export function fromGrafana(body: GrafanaWebhook): Alert[] {
  return body.alerts.map((a) => ({
    source: 'grafana',
    status: a.status,
    labels: a.labels,
    annotations: a.annotations ?? {},
    fingerprint: a.fingerprint || labelsFingerprint(a.labels),
    generatorURL: a.generatorURL || undefined,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
  }));
}

/** Parses an experiment's guard selectors; reports the index and reason of each bad one. */
export function parseGuardSelectors(entries: string[] | undefined): { selectors: Selector[]; errors: { index: number; reason: string }[] } {
  const selectors: Selector[] = [];
  const errors: { index: number; reason: string }[] = [];
  (entries ?? []).forEach((e, index) => {
    try {
      selectors.push(parseSelector(e));
    } catch (err) {
      errors.push({ index, reason: (err as Error).message });
    }
  });
  return { selectors, errors };
}

// Parsed selectors per raw string: experiments are checked on every notification.
const selectorCache = new Map<string, Selector | null>();
function cachedSelector(raw: string): Selector | null {
  if (!selectorCache.has(raw)) {
    let sel: Selector | null = null;
    try {
      sel = parseSelector(raw);
    } catch {
      sel = null; // rejected at create; an unparsable stored guard never matches
    }
    if (selectorCache.size > 10_000) selectorCache.clear();
    selectorCache.set(raw, sel);
  }
  return selectorCache.get(raw)!;
}

/** The rule by which a firing alert stops this experiment, or null. Phase is not considered. */
export function stopRule(alert: Alert, exp: Pick<GuardedExperiment, 'namespace' | 'guards'>): string | null {
  if (alert.status !== 'firing') return null;
  if (alert.labels[STOP_ALL_LABEL] === 'all') return `${STOP_ALL_LABEL}="all"`;
  if (alert.labels[FREEZE_LABEL] === 'true') return `${FREEZE_LABEL}="true"`;
  if (alert.labels[STOP_NAMESPACE_LABEL] && alert.labels[STOP_NAMESPACE_LABEL] === exp.namespace) {
    return `${STOP_NAMESPACE_LABEL}=${JSON.stringify(exp.namespace)}`;
  }
  for (const raw of exp.guards?.alerts ?? []) {
    const sel = cachedSelector(raw);
    if (sel && selectorMatches(sel, alert.labels)) return `guard ${formatSelector(sel)}`;
  }
  return null;
}

/** Every (experiment, alert) stop that these alerts call for; each experiment at most once. */
export function planStops(alerts: Alert[], experiments: GuardedExperiment[]): PlannedStop[] {
  const out: PlannedStop[] = [];
  for (const exp of experiments) {
    if (!STOPPABLE.has(exp.phase)) continue;
    for (const alert of alerts) {
      const rule = stopRule(alert, exp);
      if (rule) {
        out.push({ namespace: exp.namespace, name: exp.name, alert, rule });
        break;
      }
    }
  }
  return out;
}

interface FiringEntry {
  alert: Alert;
  receivedAt: number;
  expiresAt: number;
}

/**
 * Alerts firing now, by fingerprint. A resolved notification removes the alert. Because a
 * receiver with `send_resolved: false` never says "resolved", an entry also expires `ttlMs` after
 * the last notification that mentioned it (Alertmanager repeats firing alerts every repeat_interval).
 */
export class FiringAlerts {
  private readonly byFingerprint = new Map<string, FiringEntry>();
  private readonly put?: (key: string, e: FiringEntry) => void;
  private readonly del?: (key: string) => void;

  /** With `db`, the list is kept in SQLite too, so a restart still refuses starts while alerts fire. */
  constructor(
    private readonly ttlMs: number,
    db?: Database,
  ) {
    if (!db) return;
    db.exec('CREATE TABLE IF NOT EXISTS faultline_firing_alerts (key TEXT PRIMARY KEY, alert TEXT NOT NULL, received_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL)');
    try {
      db.prepare('DELETE FROM faultline_firing_alerts WHERE expires_ms <= ?').run(Date.now());
    } catch {
      /* expired entries are skipped on read too; removed by a later start */
    }
    for (const r of db.prepare('SELECT key, alert, received_ms, expires_ms FROM faultline_firing_alerts').all() as { key: string; alert: string; received_ms: number; expires_ms: number }[]) {
      this.byFingerprint.set(r.key, { alert: JSON.parse(r.alert) as Alert, receivedAt: r.received_ms, expiresAt: r.expires_ms });
    }
    const put = db.prepare('INSERT INTO faultline_firing_alerts (key, alert, received_ms, expires_ms) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET alert = excluded.alert, received_ms = excluded.received_ms, expires_ms = excluded.expires_ms');
    const del = db.prepare('DELETE FROM faultline_firing_alerts WHERE key = ?');
    // the list in memory is what counts; a write the disk refuses is the store's to report, never the webhook's failure
    const health = storeHealth(db);
    const turn = groupCommit(db);
    const attempt = (fn: () => unknown) => {
      turn.commit(); // these writes stand alone (store/group-commit.ts)
      try {
        fn();
      } catch (err) {
        health.failed(err, 'recording firing alerts');
      }
    };
    this.put = (key, e) => attempt(() => put.run(key, JSON.stringify(e.alert), e.receivedAt, e.expiresAt));
    this.del = (key) => attempt(() => del.run(key));
  }

  /** Records a notification; returns the alerts that were not firing before. */
  record(alerts: Alert[], now = Date.now()): Alert[] {
    const fresh: Alert[] = [];
    for (const a of alerts) {
      const key = `${a.source}:${a.fingerprint}`;
      if (a.status === 'resolved') {
        if (this.byFingerprint.delete(key)) this.del?.(key);
        continue;
      }
      if (!this.live(key, now)) fresh.push(a);
      const entry = { alert: a, receivedAt: now, expiresAt: now + this.ttlMs };
      this.byFingerprint.set(key, entry);
      this.put?.(key, entry);
    }
    return fresh;
  }

  private live(key: string, now: number): boolean {
    const e = this.byFingerprint.get(key);
    if (!e) return false;
    if (e.expiresAt <= now) {
      this.byFingerprint.delete(key);
      this.del?.(key);
      return false;
    }
    return true;
  }

  list(now = Date.now()): Alert[] {
    const out: Alert[] = [];
    for (const [key, e] of this.byFingerprint) if (this.live(key, now)) out.push(e.alert);
    return out;
  }

  get size(): number {
    return this.list().length;
  }

  clear(): void {
    for (const key of this.byFingerprint.keys()) this.del?.(key);
    this.byFingerprint.clear();
  }
}

export interface AlertGuardDeps {
  /** Active experiments (any phase; the guard filters). */
  listExperiments(): GuardedExperiment[] | Promise<GuardedExperiment[]>;
  /** Abort one experiment: recover every target now, phase Aborted, an event with `reason`; `detail` the alert as fields. */
  abort(ref: { namespace: string; name: string }, reason: string, actor: string, detail?: AbortedBy): Promise<unknown>;
  /** Freeze chaos (stops everything, refuses starts). */
  freeze?(reason: string, actor: string): Promise<unknown>;
  /** Hears every new firing alert that stopped something (for a `guard-fired` event). */
  onFired?(alert: Alert, stops: PlannedStop[], actor: string): void;
  ttlMs?: number;
  /** Keeps the firing list across restarts. */
  db?: Database;
}

export class AlertGuard {
  readonly firing: FiringAlerts;
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: AlertGuardDeps) {
    this.firing = new FiringAlerts(deps.ttlMs ?? 60 * 60 * 1000, deps.db);
  }

  /** Handles one (already validated) notification. */
  async handle(alerts: Alert[], actor: string): Promise<AlertWebhookResult> {
    this.firing.record(alerts);
    const firingNow = alerts.filter((a) => a.status === 'firing');
    let frozen = false;
    const freezer = firingNow.find((a) => a.labels[FREEZE_LABEL] === 'true');
    if (freezer && this.deps.freeze) {
      await this.deps.freeze(`${describeAlert(freezer)} is firing with ${FREEZE_LABEL}="true"`, actor);
      frozen = true;
    }
    const stops = firingNow.length ? planStops(firingNow, await this.deps.listExperiments()) : [];
    const failures = await Promise.all(stops.map((s) => this.abortOnce(s, actor)));
    if (this.deps.onFired) {
      for (const a of firingNow) {
        const mine = stops.filter((s) => s.alert === a);
        if (mine.length) this.deps.onFired(a, mine, actor);
      }
    }
    const errors = stops.flatMap((s, i) => (failures[i] ? [{ namespace: s.namespace, name: s.name, error: failures[i]! }] : []));
    return {
      received: alerts.length,
      firing: this.firing.size,
      aborted: stops.filter((_, i) => !failures[i]).map((s) => ({ namespace: s.namespace, name: s.name, alert: alertName(s.alert), rule: s.rule })),
      frozen,
      ...(errors.length ? { errors } : {}),
    };
  }

  /** Aborts once even when notifications overlap; an error (e.g. deleted meanwhile) is reported, not thrown. */
  private abortOnce(s: PlannedStop, actor: string): Promise<string | undefined> {
    const key = `${s.namespace}/${s.name}`;
    let p = this.inFlight.get(key) as Promise<string | undefined> | undefined;
    if (!p) {
      p = this.deps
        .abort({ namespace: s.namespace, name: s.name }, abortReason(s), actor, abortDetail(s))
        .then(
          () => undefined,
          (err: unknown) => (err as Error)?.message ?? String(err),
        )
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  /** Refuses (409, naming the alert) to start an experiment that a firing alert would stop. */
  checkStart(exp: Pick<GuardedExperiment, 'namespace' | 'name' | 'guards'>): void {
    for (const a of this.firing.list()) {
      const rule = stopRule(a, exp);
      if (rule) {
        throw ApiError.conflict(
          `experiment ${exp.namespace}/${exp.name} cannot start: ${describeAlert(a)} is firing and matches ${rule}`,
          [{ field: '/spec/guards/alerts', reason: `${alertName(a)} is firing` }],
        );
      }
    }
  }
}
