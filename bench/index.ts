import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCHES } from './registry';

// `npm run bench [name...]`: runs each benchmark side by side with its baseline, prints a table
// per benchmark and writes everything to bench/results.json.
const only = process.argv.slice(2);
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), host: { node: process.version } };
for (const [name, run] of Object.entries(BENCHES)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n### ${name}`);
  try {
    results[name] = await run();
  } catch (err) {
    console.error(`bench ${name} failed:`, err);
    results[name] = { error: String(err) };
  }
}
const out = path.resolve('bench/results.json');
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(`\nresults written to ${out}`);
