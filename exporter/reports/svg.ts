import type { SliResult } from '../../api/report';

// A small line chart of one SLI, drawn as an SVG string on the server (no browser needed): the
// chaos window shaded, the baseline mean dashed, the moment of recovery marked.

const W = 640;
const H = 180;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function formatValue(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return '–';
  if (unit === 'ratio') return `${(v * 100).toFixed(v < 0.01 ? 2 : 1)}%`;
  if (unit === 'seconds') return v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 2 : 0)} ms` : `${v.toFixed(2)} s`;
  return Number.isInteger(v) ? String(v) : v.toPrecision(3);
}

export function sliChart(s: SliResult): string {
  const t0 = Date.parse(s.baseline.from) / 1000;
  const t1 = Date.parse(s.after.to) / 1000;
  const start = Date.parse(s.during.from) / 1000;
  const end = Date.parse(s.during.to) / 1000;
  const vals = s.points.map(([, v]) => v);
  const hi = Math.max(...vals, s.baseline.mean ?? 0, 1e-9) * 1.1;
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / hi) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(s.name)}" font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#181b1f"/>`,
    `<rect x="${x(start).toFixed(1)}" y="${PAD.top}" width="${Math.max(1, x(end) - x(start)).toFixed(1)}" height="${H - PAD.top - PAD.bottom}" fill="#f2495c" fill-opacity="0.18"/>`,
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#555"/>`,
    `<text x="${PAD.left - 6}" y="${PAD.top + 8}" fill="#ccc" text-anchor="end">${escapeXml(formatValue(hi, s.unit))}</text>`,
    `<text x="${PAD.left - 6}" y="${H - PAD.bottom}" fill="#ccc" text-anchor="end">0</text>`,
    `<text x="${x(start).toFixed(1)}" y="${H - 10}" fill="#f2495c">chaos</text>`,
  ];
  if (s.baseline.mean !== null) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(s.baseline.mean).toFixed(1)}" y2="${y(s.baseline.mean).toFixed(1)}" stroke="#8ab8ff" stroke-dasharray="4 3"/>`);
  }
  if (s.points.length) {
    const d = s.points.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="#73bf69" stroke-width="1.5"/>`);
  } else {
    parts.push(`<text x="${W / 2}" y="${H / 2}" fill="#ccc" text-anchor="middle">no data${s.error ? `: ${escapeXml(s.error.slice(0, 80))}` : ''}</text>`);
  }
  if (s.recoverySeconds !== null) {
    const rx = x(end + s.recoverySeconds).toFixed(1);
    parts.push(`<line x1="${rx}" x2="${rx}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#fade2a"/>`);
    parts.push(`<text x="${rx}" y="${H - 10}" fill="#fade2a">recovered +${s.recoverySeconds}s</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
