import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Report, SliResult } from '../../api/report';
import { Client, CliError, EXIT, clientOptions, expPath, render, run, table } from '../client';
import { formatValue } from '../../exporter/reports/svg';

// `faultline report NAME`: what the chaos did and what it did to the application, in the terminal
// (a sparkline per SLI), as JSON/YAML, or as the HTML page (`--html FILE`).

const BARS = '▁▂▃▄▅▆▇█';

/** A one-line chart; the chaos window is shown by the marks underneath. */
export function sparkline(s: SliResult, width = 60): { line: string; marks: string } {
  if (s.points.length === 0) return { line: '(no data)', marks: '' };
  const t0 = Date.parse(s.baseline.from) / 1000;
  const t1 = Date.parse(s.after.to) / 1000;
  const start = Date.parse(s.during.from) / 1000;
  const end = Date.parse(s.during.to) / 1000;
  const buckets: number[][] = Array.from({ length: width }, () => []);
  const col = (t: number) => Math.min(width - 1, Math.max(0, Math.floor(((t - t0) / Math.max(1, t1 - t0)) * width)));
  for (const [t, v] of s.points) buckets[col(t)].push(v);
  const hi = Math.max(...s.points.map(([, v]) => v), 1e-12);
  const line = buckets.map((b) => (b.length ? BARS[Math.min(7, Math.round((Math.max(...b) / hi) * 7))] : ' ')).join('');
  const marks = Array.from({ length: width }, (_, i) => (i >= col(start) && i <= col(end) ? '^' : ' ')).join('');
  return { line, marks };
}

export function reportText(r: Report): string {
  const out = [`${r.experiment.namespace}/${r.experiment.name}  ${r.experiment.kind}  ${r.outcome}`];
  out.push(`started ${r.startedAt ?? '–'}  ended ${r.endedAt ?? '–'}${r.durationSeconds !== undefined ? `  (${r.durationSeconds}s)` : ''}`);
  if (r.guard) {
    out.push(`stopped by a guard: ${r.guard.message}`);
    if (r.guard.alert?.generatorURL) out.push(`  alert source: ${r.guard.alert.generatorURL}`);
  }
  out.push('', 'IMPACT');
  if (r.prometheus) out.push(`  ${r.prometheus}`);
  if (r.pending) out.push(`  not final: ${r.pending}`);
  const soFar = (partial: boolean | undefined) => (partial ? ' so far' : '');
  for (const s of r.slis) {
    out.push(`  ${s.name}${s.error ? `  (error: ${s.error})` : ''}`);
    const recovery = s.recoverySeconds !== null ? `${s.recoverySeconds}s` : s.after.partial ? 'not known yet' : 'not within the window';
    const after = s.after.partial && s.after.samples === 0 ? 'not started' : `${formatValue(s.after.mean, s.unit)}${soFar(s.after.partial)}`;
    out.push(
      `    baseline ${formatValue(s.baseline.mean, s.unit)}  during ${formatValue(s.during.mean, s.unit)} (max ${formatValue(s.during.max, s.unit)})${soFar(s.during.partial)}  after ${after}  ` +
        `recovery ${recovery}`,
    );
    const { line, marks } = sparkline(s);
    out.push(`    ${line}`, `    ${marks}`);
  }
  out.push('', 'TARGETS', table(['TARGET', 'DAEMON', 'PHASE', 'INJECTED', 'RECOVERED', 'ERROR'], r.targets.map((t) => [t.description, t.daemon, t.phase, t.injectedAt, t.recoveredAt, t.error])));
  out.push('', 'TIMELINE', table(['TIME', 'EVENT', 'TARGET', 'MESSAGE'], r.timeline.map((e) => [e.time, e.type, e.target, e.message])));
  return out.join('\n');
}

export function registerReport(program: Command): void {
  clientOptions(
    program
      .command('report')
      .description('report of one experiment run: timeline, targets, guard, and SLIs before/during/after')
      .argument('<name>', 'experiment name')
      .option('--html <file>', 'also write the HTML report to this file'),
  ).action(
    run(async (name: string, o: { server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml'; html?: string }) => {
      const client = new Client(o);
      const r = await client.get<Report>(`${expPath(o.namespace, name)}/report`);
      if (o.html) {
        const res = await client.raw('GET', `${expPath(o.namespace, name)}/report?format=html`);
        try {
          await writeFile(o.html, await res.text());
        } catch (err) {
          throw new CliError(`--html: cannot write ${o.html}: ${(err as Error).message}`, EXIT.invalid);
        }
      }
      console.log(render(r, o.output, () => reportText(r)));
    }),
  );
}
