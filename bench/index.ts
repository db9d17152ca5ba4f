import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCHES } from './registry';

// `npm run bench [name...]`: runs each benchmark side by side with its baseline, prints a table
// per benchmark and writes everything to bench/results.json. A run of some benchmarks replaces only
// their sections (each carries its own startedAt), so the file always holds the latest of each.
const only = process.argv.slice(2);
// BENCH_RESULTS=path writes elsewhere (a scaled-down or profiling run must not replace the record).
const out = path.resolve(process.env.BENCH_RESULTS ?? 'bench/results.json');
const previous = only.length && existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
const results: Record<string, unknown> = { ...previous, startedAt: new Date().toISOString(), host: { node: process.version } };
for (const [name, run] of Object.entries(BENCHES)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n### ${name}`);
  const startedAt = new Date().toISOString();
  try {
    const r = await run();
    results[name] = r && typeof r === 'object' && !Array.isArray(r) ? { startedAt, ...r } : { startedAt, result: r };
  } catch (err) {
    console.error(`bench ${name} failed:`, err);
    results[name] = { startedAt, error: String(err) };
  }
}
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(`\nresults written to ${out}`);
