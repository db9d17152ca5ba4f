import type { Report } from '../../api/report';
import { escapeXml as esc, formatValue, sliChart } from './svg';

// The report as one self-contained HTML page (inline SVG and CSS, no scripts), readable on its own
// or linked from a Grafana annotation.

const soFar = (partial: boolean | undefined) => (partial ? ' <small>(so far)</small>' : '');

/** A link only to an http(s) address: a generatorURL comes from whoever posts the webhook. */
function link(url: string | undefined, text: string): string {
  if (!url || !/^https?:\/\//i.test(url)) return '';
  return ` <a href="${esc(url)}" rel="noreferrer noopener">${esc(text)}</a>`;
}

export function reportHtml(r: Report): string {
  const rows = (cells: string[][]) => cells.map((c) => `<tr>${c.map((v) => `<td>${v}</td>`).join('')}</tr>`).join('');
  const slis = r.slis
    .map(
      (s) => `<section><h3>${esc(s.name)}</h3>
<table><tr><th></th><th>baseline</th><th>during</th><th>after</th><th>recovery</th></tr>
${rows([[
  'mean',
  esc(formatValue(s.baseline.mean, s.unit)),
  esc(formatValue(s.during.mean, s.unit)) + soFar(s.during.partial),
  esc(formatValue(s.after.mean, s.unit)) + soFar(s.after.partial),
  s.recoverySeconds !== null ? `${s.recoverySeconds}s after recovery` : s.after.partial ? 'not known yet' : 'not within the window',
], ['max', esc(formatValue(s.baseline.max, s.unit)), esc(formatValue(s.during.max, s.unit)) + soFar(s.during.partial), esc(formatValue(s.after.max, s.unit)) + soFar(s.after.partial), '']])}</table>
${sliChart(s)}${s.error ? `<p class="err">${esc(s.error)}</p>` : ''}<p class="expr"><code>${esc(s.expr)}</code></p></section>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Faultline report: ${esc(r.experiment.namespace)}/${esc(r.experiment.name)}</title>
<style>body{background:#111217;color:#ccccdc;font:14px/1.5 sans-serif;margin:24px;max-width:960px}h1,h2,h3{color:#fff;font-weight:500}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #2c3235;padding:4px 10px;text-align:left}th{color:#9fa7b3;font-weight:500}
.Finished{color:#73bf69}.Aborted,.Failed{color:#f2495c}.err{color:#f2495c}.expr code{color:#9fa7b3;font-size:12px}</style></head><body>
<h1>${esc(r.experiment.namespace)}/${esc(r.experiment.name)} <small class="${esc(r.phase)}">${esc(r.outcome)}</small></h1>
<p>${esc(r.experiment.kind)} · started ${esc(r.startedAt ?? '–')} · ended ${esc(r.endedAt ?? '–')}${r.durationSeconds !== undefined ? ` · ${r.durationSeconds}s` : ''}</p>
${r.guard ? `<p class="Aborted">Stopped by a guard: ${esc(r.guard.message)} (${esc(r.guard.time)})${link(r.guard.alert?.generatorURL, 'alert source')}</p>` : ''}
<h2>Impact</h2>${r.prometheus ? `<p>${esc(r.prometheus)}</p>` : ''}${r.pending ? `<p class="pending">Not final: ${esc(r.pending)}</p>` : ''}${slis}
<h2>Targets</h2><table><tr><th>target</th><th>daemon</th><th>phase</th><th>injected</th><th>recovered</th><th>error</th></tr>
${rows(r.targets.map((t) => [esc(t.description), esc(t.daemon), esc(t.phase), esc(t.injectedAt ?? ''), esc(t.recoveredAt ?? ''), esc(t.error ?? '')]))}</table>
<h2>Timeline</h2><table><tr><th>time</th><th>event</th><th>target</th><th>message</th><th>actor</th></tr>
${rows(r.timeline.map((e) => [esc(e.time), esc(e.type), esc(e.target ?? ''), esc(e.message), esc(e.actor ?? '')]))}</table>
</body></html>`;
}
