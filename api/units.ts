// Parsers for the human units used on the wire: Go-style durations ("250ms", "30s", "1h30m"),
// byte sizes ("256MiB", "1G") and network rates ("8mbit", "1MB/s" style as tc writes them).
// Schemas check the shape with a pattern; these functions give the number and are the only
// place that knows the units, so daemon, exporter and panel agree.

export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]i?[bB]?|[bB])?$';
export const SIZE_OR_PERCENT_PATTERN = '^([0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]i?[bB]?|[bB])?|[0-9]+(\\.[0-9]+)?%)$';
export const RATE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)$';

/**
 * The longest duration any field of the API takes: 7 days (168h). Longer chaos is a mistake, not an
 * experiment (use a schedule), and it keeps every duration far inside what timers and dates can hold
 * ("99999999999h" would overflow setTimeout and leave a fault Injecting for ever). A policy's
 * maxDuration is a duration too, so it can only narrow this.
 */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;
export const MAX_DURATION_TEXT = '168h (7 days)';

/** Whether a duration string is within MAX_DURATION_MS (false for anything that is not a duration). */
export function durationWithinMax(text: string): boolean {
  try {
    return parseDuration(text) <= MAX_DURATION_MS;
  } catch {
    return false;
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a Go-style duration string; throws on anything else. */
export function parseDuration(text: string): number {
  if (typeof text !== 'string' || !new RegExp(DURATION_PATTERN).test(text)) {
    throw new Error(`"${text}" is not a duration (use e.g. 500ms, 30s, 5m, 1h30m)`);
  }
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
  }
  return total;
}

/** Go-style duration string for a number of milliseconds ("1m30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Bytes in a size string ("256MiB", "1G", "4096"); throws on anything else. */
export function parseSize(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)$/.exec(String(text).trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`"${text}" is not a size (use e.g. 512KiB, 256MiB, 1G)`);
  return Math.round(Number(m[1]) * unit);
}

/** A size that may also be a percentage of a total ("20%"). */
export function parseSizeOrPercent(text: string, total: number): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(String(text).trim());
  if (m) {
    const pct = Number(m[1]);
    if (pct > 100) throw new Error(`"${text}" is more than 100%`);
    return Math.round((total * pct) / 100);
  }
  return parseSize(text);
}

const RATE_UNITS: Record<string, number> = {
  bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12,
};

/** Bits per second in a tc-style rate ("8mbit", "1mbps" = bytes). */
export function parseRate(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]+)$/.exec(String(text).trim());
  const unit = m ? RATE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`"${text}" is not a rate (use e.g. 512kbit, 8mbit, 1gbit)`);
  return Math.round(Number(m[1]) * unit);
}
