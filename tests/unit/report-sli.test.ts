import type { SliResult } from '../../api/report';
import { reportText, sparkline } from '../../cli/commands/report';
import { reportHtml } from '../../exporter/reports/html';
import { combine, recoverySeconds, sliResult, windowStats, type Point } from '../../exporter/reports/sli';
import { escapeXml, formatValue, sliChart } from '../../exporter/reports/svg';

const sli = { name: 'error ratio', expr: 'x', unit: 'ratio' as const, tolerance: 0.1, absoluteTolerance: 0.01 };
// baseline 0 for t=0..9, chaos 10..19 at 0.5, back at 0 from t=24
const pts: Point[] = Array.from({ length: 40 }, (_, t) => [t, t >= 10 && t < 24 ? 0.5 : 0]);

describe('report arithmetic', () => {
  it('window statistics', () => {
    expect(windowStats(pts, 0, 10)).toMatchObject({ mean: 0, max: 0, samples: 10 });
    expect(windowStats(pts, 10, 20)).toMatchObject({ mean: 0.5, max: 0.5, samples: 10 });
    expect(windowStats([], 0, 9)).toMatchObject({ mean: null, max: null, samples: 0 });
  });

  it('recovery is when the SLI is back within tolerance and stays there', () => {
    expect(recoverySeconds(pts, 0, 20, sli)).toBe(4);
    // a single good sample amid bad ones is not a recovery
    const flap: Point[] = [[20, 0.5], [21, 0], [22, 0.5], [23, 0], [24, 0]];
    expect(recoverySeconds(flap, 0, 20, sli)).toBe(3);
    expect(recoverySeconds([[20, 0.5], [21, 0.5]], 0, 20, sli)).toBeNull();
    expect(recoverySeconds(pts, null, 20, sli)).toBeNull();
  });

  it('combines several series by their max per timestamp', () => {
    expect(combine([[[1, 1], [2, 5]], [[1, 3], [3, NaN]]])).toEqual([[1, 3], [2, 5]]);
  });

  it('renders the chart, the page and the terminal text, escaping user text', () => {
    const r: SliResult = sliResult({ ...sli, name: '<errors & "more">' }, pts, { baselineFrom: 0, start: 10, end: 20, afterTo: 39 });
    const svg = sliChart(r);
    expect(svg).toMatch(/^<svg[^>]*>.*<\/svg>$/s);
    expect(svg).toContain('&lt;errors &amp; &quot;more&quot;&gt;');
    expect(svg).toContain('recovered +4s');
    const report = {
      experiment: { namespace: 'default', name: 'x', uid: 'u', kind: 'process-pause' },
      phase: 'Aborted',
      outcome: 'Aborted: alert <DemoHighErrorRate>',
      targets: [],
      timeline: [{ time: 't', type: 'aborted', message: 'alert <b>' }],
      slis: [r],
    };
    const html = reportHtml(report);
    expect(html).not.toContain('<b>');
    expect(html).toContain('alert &lt;DemoHighErrorRate&gt;');
    expect(reportText(report)).toContain('recovery 4s');
    expect(sparkline(r, 40).marks.trim()).toMatch(/^\^+$/);
    expect(escapeXml(`'`)).toBe('&#39;');
    expect(formatValue(0.123, 'ratio')).toBe('12.3%');
    expect(formatValue(0.25, 'seconds')).toBe('250 ms');
    expect(formatValue(null, '')).toBe('–');
  });
});
