import { parseDuration } from '../../api/units';
import type { Step } from '../../api/workflow';
import { sleep } from '../daemons';
import type { PrometheusClient } from '../guards/promql';

// A workflow's check step: a PromQL expression (against the exporter's Prometheus) or an HTTP
// probe, tried every `interval` until it passes or `timeout` runs out. The engine decides what a
// failed check does to the workflow (onFailure); this file only says whether it passed, and why not.

export type Check = NonNullable<Step['check']>;

/** Tries `c` until it passes or its timeout ends; an abort of `signal` rejects with the signal's reason. */
export async function runCheck(c: Check, prometheus: PrometheusClient | null, signal: AbortSignal): Promise<{ pass: boolean; message: string }> {
  const timeoutMs = parseDuration(c.timeout ?? '30s');
  const every = Math.max(100, parseDuration(c.interval ?? '2s'));
  const until = Date.now() + timeoutMs;
  let last = 'not evaluated';
  for (;;) {
    try {
      const r = await evaluate(c, prometheus, Math.min(every, 10_000));
      if (r.pass) return { pass: true, message: `check passed: ${r.detail}` };
      last = r.detail;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + every > until) break;
    await sleep(every, signal);
  }
  return { pass: false, message: `check did not pass within ${c.timeout ?? '30s'}: ${last}` };
}

/** One try. A PromQL check is only accepted when the exporter has Prometheus (validate.ts). */
async function evaluate(c: Check, prometheus: PrometheusClient | null, timeoutMs: number): Promise<{ pass: boolean; detail: string }> {
  if (c.promql) {
    const r = await prometheus!.query(c.promql.expr, timeoutMs);
    const want = (c.promql.expect ?? 'non-empty') === 'non-empty';
    return { pass: r.breached === want, detail: `${c.promql.expr} → ${r.summary || 'empty'}` };
  }
  const h = c.http!;
  const res = await fetch(h.url, { method: h.method ?? 'GET', signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  await res.arrayBuffer().catch(() => undefined);
  const ok = (h.status ?? [200]).includes(res.status);
  return { pass: ok, detail: `${h.method ?? 'GET'} ${h.url} → ${res.status}` };
}
