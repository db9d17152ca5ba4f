import { ApiError } from '../../api/errors';
import { parseDuration } from '../../api/units';

// PromQL guards: `spec.guards.promql: [{expr, for, interval}]`. While an experiment runs, each
// expression is evaluated as an instant query against --prometheus-url every `interval`; a
// non-empty result (for a scalar: non-zero) held for `for` aborts the experiment, like a
// Prometheus alerting rule going from pending to firing. When Prometheus cannot answer
// `maxFailures` times in a row, the experiment is aborted (default) or, with
// onFailure "ignore", keeps running with an event saying the guard is blind.
// Before injecting, every guard is evaluated once (pre-flight): already true, or Prometheus
// unreachable under onFailure "abort", refuses the start.

export interface PromqlGuardSpec {
  expr: string;
  for?: string;
  interval?: string;
}

export interface Ref {
  namespace: string;
  name: string;
}

export interface QueryOutcome {
  breached: boolean;
  /** A few samples, for the event text. */
  summary: string;
}

interface PromResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

/** Instant queries against one Prometheus. */
export class PrometheusClient {
  readonly base: string;

  constructor(url: string) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw ApiError.invalid(`--prometheus-url ${JSON.stringify(url)} is not a URL`, [{ field: 'prometheus-url', reason: 'is not a URL' }]);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw ApiError.invalid('--prometheus-url must be http or https', [{ field: 'prometheus-url', reason: 'must be http(s)' }]);
    }
    this.base = u.href.replace(/\/+$/, '');
  }

  async query(expr: string, timeoutMs: number): Promise<QueryOutcome> {
    const url = `${this.base}/api/v1/query?${new URLSearchParams({ query: expr })}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new Error(`Prometheus at ${this.base} unreachable: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    let body: PromResponse;
    try {
      body = (await res.json()) as PromResponse;
    } catch {
      throw new Error(`Prometheus at ${this.base} answered HTTP ${res.status} without JSON`);
    }
    if (body.status !== 'success' || !body.data) {
      throw new Error(`Prometheus rejected the query (HTTP ${res.status}, ${body.errorType ?? 'error'}: ${body.error ?? 'no detail'})`);
    }
    return outcome(body.data.resultType, body.data.result);
  }

  /** A range query (reports): every series' [epoch seconds, value] points. */
  async queryRange(expr: string, startSec: number, endSec: number, stepSec: number, timeoutMs: number): Promise<{ metric: Record<string, string>; values: [number, number][] }[]> {
    const params = new URLSearchParams({ query: expr, start: String(startSec), end: String(endSec), step: String(stepSec) });
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new Error(`Prometheus at ${this.base} unreachable: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    const body = (await res.json().catch(() => ({ status: 'error', error: `HTTP ${res.status} without JSON` }))) as PromResponse;
    if (body.status !== 'success' || !body.data) throw new Error(`Prometheus rejected the query (HTTP ${res.status}, ${body.errorType ?? 'error'}: ${body.error ?? 'no detail'})`);
    const list = (body.data.result as { metric: Record<string, string>; values: [number, string][] }[]) ?? [];
    return list.map((s) => ({ metric: s.metric, values: s.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
  }
}

function labelsText(metric: Record<string, string> | undefined): string {
  const m = metric ?? {};
  return `{${Object.keys(m).map((k) => `${k}=${JSON.stringify(m[k])}`).join(', ')}}`;
}

/** Whether an instant query result counts as "true". */
export function outcome(resultType: string, result: unknown): QueryOutcome {
  if (resultType === 'vector' || resultType === 'matrix') {
    const list = (result as { metric?: Record<string, string>; value?: [number, string]; values?: [number, string][] }[]) ?? [];
    const summary = list
      .slice(0, 3)
      .map((s) => `${labelsText(s.metric)} ${s.value ? s.value[1] : (s.values?.at(-1)?.[1] ?? '')}`)
      .join('; ');
    return { breached: list.length > 0, summary: list.length > 3 ? `${summary}; … ${list.length} series` : summary };
  }
  if (resultType === 'scalar') {
    const v = Number((result as [number, string])[1]);
    return { breached: !Number.isNaN(v) && v !== 0, summary: `scalar ${String((result as [number, string])[1])}` };
  }
  const s = String((result as [number, string])[1] ?? '');
  return { breached: s !== '', summary: `string ${JSON.stringify(s)}` };
}

export interface PromqlGuardOptions {
  client: PrometheusClient | null;
  /** Consecutive failed evaluations before onFailure applies. */
  maxFailures?: number;
  onFailure?: 'abort' | 'ignore';
  abort(ref: Ref, reason: string, actor: string): Promise<unknown>;
  /** Events other than the abort itself (guard blind, guard pending). */
  note?(ref: Ref, message: string): void;
  log?: { warn(obj: object, msg: string): void };
}

interface Evaluator {
  timer?: NodeJS.Timeout;
  pendingSince?: number;
  failures: number;
  blindNoted: boolean;
  stopped: boolean;
}

const ACTOR = 'promql-guard';

export class PromqlGuards {
  private readonly watched = new Map<string, Evaluator[]>();
  readonly maxFailures: number;
  readonly onFailure: 'abort' | 'ignore';

  constructor(private readonly opts: PromqlGuardOptions) {
    this.maxFailures = opts.maxFailures ?? 3;
    this.onFailure = opts.onFailure ?? 'abort';
  }

  /** Create-time check: PromQL guards need --prometheus-url. */
  checkSpec(guards: PromqlGuardSpec[] | undefined): void {
    if (guards?.length && !this.opts.client) {
      throw ApiError.invalid('spec.guards.promql needs the exporter to be started with --prometheus-url', [
        { field: '/spec/guards/promql', reason: 'no Prometheus configured (--prometheus-url)' },
      ]);
    }
  }

  /** Evaluates every guard once before injecting; throws 409 (true now) or 503 (Prometheus down). */
  async preflight(ref: Ref, guards: PromqlGuardSpec[] | undefined): Promise<void> {
    if (!guards?.length) return;
    this.checkSpec(guards);
    await Promise.all(
      guards.map(async (g, i) => {
        let o: QueryOutcome;
        try {
          o = await this.opts.client!.query(g.expr, timeoutFor(g));
        } catch (err) {
          if (this.onFailure === 'ignore') {
            this.opts.note?.(ref, `pre-flight: PromQL guard ${JSON.stringify(g.expr)} could not be evaluated (${(err as Error).message}); starting blind as configured`);
            return;
          }
          throw new ApiError(503, 'guard_unavailable', `${ref.namespace}/${ref.name} not started: pre-flight of PromQL guard ${JSON.stringify(g.expr)} failed: ${(err as Error).message}`, [
            { field: `/spec/guards/promql/${i}/expr`, reason: 'could not be evaluated' },
          ]);
        }
        if (o.breached) {
          throw ApiError.conflict(`${ref.namespace}/${ref.name} not started: PromQL guard ${JSON.stringify(g.expr)} is already true (${o.summary})`, [
            { field: `/spec/guards/promql/${i}/expr`, reason: 'is true now' },
          ]);
        }
      }),
    );
  }

  /** Starts evaluating an experiment's guards (idempotent: a second call restarts them). */
  watch(ref: Ref, guards: PromqlGuardSpec[] | undefined): void {
    this.unwatch(ref);
    if (!guards?.length || !this.opts.client) return;
    const evs = guards.map((g) => {
      const ev: Evaluator = { failures: 0, blindNoted: false, stopped: false };
      const tick = async () => {
        if (ev.stopped) return;
        let done = false;
        try {
          done = await this.evaluate(ref, g, ev);
        } catch (err) {
          // e.g. the experiment was deleted while its abort ran: nothing left to guard
          this.opts.log?.warn({ experiment: key(ref), err: String(err) }, 'PromQL guard abort failed');
          done = true;
        }
        if (!done && !ev.stopped) ev.timer = setTimeout(tick, intervalOf(g));
      };
      ev.timer = setTimeout(tick, 0);
      return ev;
    });
    this.watched.set(key(ref), evs);
  }

  unwatch(ref: Ref): void {
    for (const ev of this.watched.get(key(ref)) ?? []) {
      ev.stopped = true;
      clearTimeout(ev.timer);
    }
    this.watched.delete(key(ref));
  }

  isWatching(ref: Ref): boolean {
    return this.watched.has(key(ref));
  }

  watchedRefs(): Ref[] {
    return [...this.watched.keys()].map((k) => {
      const [namespace, name] = k.split('/');
      return { namespace, name };
    });
  }

  get watching(): number {
    return this.watched.size;
  }

  close(): void {
    for (const ref of this.watchedRefs()) this.unwatch(ref);
  }

  /** One evaluation; true when the experiment was aborted (the loop ends). */
  private async evaluate(ref: Ref, g: PromqlGuardSpec, ev: Evaluator): Promise<boolean> {
    let o: QueryOutcome;
    try {
      o = await this.opts.client!.query(g.expr, timeoutFor(g));
    } catch (err) {
      if (ev.stopped) return true;
      ev.failures++;
      const why = (err as Error).message;
      this.opts.log?.warn({ experiment: key(ref), expr: g.expr, failures: ev.failures, err: why }, 'PromQL guard evaluation failed');
      if (ev.failures >= this.maxFailures) {
        if (this.onFailure === 'abort') {
          this.unwatch(ref);
          await this.opts.abort(ref, `aborted: PromQL guard ${JSON.stringify(g.expr)} could not be evaluated ${ev.failures} times in a row (${why})`, ACTOR);
          return true;
        }
        if (!ev.blindNoted) {
          ev.blindNoted = true;
          this.opts.note?.(ref, `PromQL guard ${JSON.stringify(g.expr)} is blind: ${ev.failures} failed evaluations (${why}); continuing as configured`);
        }
      }
      return false;
    }
    if (ev.stopped) return true;
    ev.failures = 0;
    ev.blindNoted = false;
    if (!o.breached) {
      ev.pendingSince = undefined;
      return false;
    }
    const now = Date.now();
    ev.pendingSince ??= now;
    const forMs = parseDuration(g.for ?? '0s');
    if (now - ev.pendingSince < forMs) return false;
    this.unwatch(ref);
    const held = forMs > 0 ? ` for ${g.for}` : '';
    await this.opts.abort(ref, `aborted by PromQL guard ${JSON.stringify(g.expr)}: true${held} (${o.summary})`, ACTOR);
    return true;
  }
}

function key(ref: Ref): string {
  return `${ref.namespace}/${ref.name}`;
}

function intervalOf(g: PromqlGuardSpec): number {
  return Math.max(100, parseDuration(g.interval ?? '5s'));
}

function timeoutFor(g: PromqlGuardSpec): number {
  return Math.min(10_000, Math.max(500, intervalOf(g)));
}
