import type { Experiment } from '../../api/experiment';
import type { Report } from '../../api/report';
import { reportText } from '../../cli/commands/report';
import { describeExperiment } from '../../cli/format';
import { NO_PROMETHEUS, buildReport, pendingWindows } from '../../exporter/reports/build';
import { reportHtml } from '../../exporter/reports/html';
import { sliResult, type Point } from '../../exporter/reports/sli';

// What `faultline report` and `describe` say when figures are missing or not final, and where a guard
// abort's alert is shown (its labels in the message, its generatorURL as a field of its own).

const T0 = Date.parse('2026-12-06T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function experiment(status: Partial<Experiment['status']>): Experiment {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name: 'pause-api', namespace: 'shop', uid: 'u1', creationTimestamp: iso(T0) },
    spec: { fault: { kind: 'process-pause', params: {} }, duration: '1m', report: { baseline: '5m', after: '5m' } },
    status: { phase: 'Finished', targets: [], conditions: [], ...status },
  } as unknown as Experiment;
}

const abortedBy = {
  alert: 'HighErrorRate',
  labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'page' },
  fingerprint: 'abc123',
  source: 'alertmanager',
  rule: 'guard alertname="HighErrorRate"',
  generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
};

describe('report hints', () => {
  it('without Prometheus: one line saying which flag (and env) gives SLIs', async () => {
    const r = await buildReport(experiment({ startedAt: iso(T0), endedAt: iso(T0 + 60_000) }), [], null, T0 + 3_600_000);
    expect(r.prometheus).toBe(NO_PROMETHEUS);
    expect(NO_PROMETHEUS).toMatch(/--prometheus-url/);
    expect(NO_PROMETHEUS).toMatch(/FAULTLINE_PROMETHEUS_URL/);
    const text = reportText(r);
    expect(text.split('\n').filter((l) => l.includes('--prometheus-url'))).toHaveLength(1);
    expect(r.pending).toBeUndefined();
  });

  it('windows not finished yet say so, with when they are', () => {
    expect(pendingWindows('Running', true, 0, T0, '5m')).toMatch(/still Running: "during" covers it up to now, and the 5m after-window starts when it ends/);
    expect(pendingWindows('Finished', false, T0 + 125_000, T0, '5m')).toBe(`the after-window runs until ${iso(T0 + 125_000)} (2m5s from now): "after" and recovery are figures so far`);
    expect(pendingWindows('Finished', false, T0 - 1, T0, '5m')).toBeUndefined();
  });

  it('the terminal and the page mark figures so far, and do not call a recovery missing before its window is over', () => {
    const pts: Point[] = Array.from({ length: 30 }, (_, t) => [t, t >= 10 ? 0.5 : 0]);
    const s = sliResult({ name: 'error ratio', expr: 'x', unit: 'ratio' }, pts, { baselineFrom: 0, start: 10, end: 30, afterTo: 30 });
    s.during.partial = true;
    s.after.partial = true;
    const r: Report = {
      experiment: { namespace: 'shop', name: 'pause-api', uid: 'u1', kind: 'process-pause' },
      phase: 'Running',
      outcome: 'Running',
      targets: [],
      timeline: [],
      slis: [s],
      pending: pendingWindows('Running', true, 0, T0, '5m'),
    };
    const text = reportText(r);
    expect(text).toContain('not final: the experiment is still Running');
    expect(text).toMatch(/during 50\.0% \(max 50\.0%\) so far {2}after not started {2}recovery not known yet/);
    expect(text).not.toContain('not within the window');
    const html = reportHtml(r);
    expect(html).toContain('Not final: the experiment is still Running');
    expect(html).toContain('(so far)');
    expect(html).toContain('not known yet');
  });
});

describe('a guard abort: labels in the message, generatorURL as a field', () => {
  const message = 'aborted by alert HighErrorRate{service="checkout",severity="page"} (matched guard alertname="HighErrorRate")';

  it('describe shows the alert fields, the message stays one readable line', () => {
    const text = describeExperiment(experiment({ phase: 'Aborted', reason: 'alert', message, abortedBy }), []);
    expect(text).toContain(`Message:     ${message}`);
    expect(text).toMatch(/Aborted by:\n {2}Alert: +HighErrorRate \(alertmanager, fingerprint abc123\)\n {2}Matched: +guard alertname="HighErrorRate"/);
    expect(text).toContain('  Generator URL: http://prometheus:9090/graph?g0.expr=x');
    expect(text.split('\n').filter((l) => l.includes('http://'))).toHaveLength(1);
  });

  it('the report carries the alert; the page links only http(s) sources', async () => {
    const exp = experiment({ phase: 'Aborted', reason: 'alert', message, abortedBy, startedAt: iso(T0), endedAt: iso(T0 + 10_000) });
    const r = await buildReport(exp, [{ id: 1, time: iso(T0 + 10_000), type: 'aborted', message: `aborted: ${message}` }], null, T0 + 3_600_000);
    expect(r.guard).toMatchObject({ type: 'aborted', message: `aborted: ${message}`, alert: abortedBy });
    expect(reportText(r)).toContain('  alert source: http://prometheus:9090/graph?g0.expr=x');
    expect(reportHtml(r)).toContain('<a href="http://prometheus:9090/graph?g0.expr=x" rel="noreferrer noopener">alert source</a>');
    const hostile = { ...r, guard: { ...r.guard!, alert: { ...abortedBy, generatorURL: 'javascript:alert(1)' } } };
    expect(reportHtml(hostile)).not.toContain('javascript:');
  });
});
