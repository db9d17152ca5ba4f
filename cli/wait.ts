import type { EventList } from '../api/events';
import { TERMINAL_PHASES, type Experiment } from '../api/experiment';
import { EXIT, expPath, yamlModule, type Client, type ClientOptions } from './client';
import { describeExperiment, eventLine } from './format';

// `--wait` of `run` and `inject`: prints the experiment's events until it ends, then a summary, and
// gives the exit code of its result: 0 Finished, 7 Aborted, 8 Failed, 9 when the timeout passes first
// (the experiment is stopped then), so a CI job fails when a guard aborted the chaos.

export function exitCodeFor(phase: string): number {
  return phase === 'Finished' ? EXIT.ok : phase === 'Aborted' ? EXIT.aborted : EXIT.failed;
}

export async function waitForExperiment(
  client: Client,
  ref: { namespace: string; name: string },
  o: { timeoutMs?: number; timeoutText?: string; pollMs: number; output: ClientOptions['output'] | 'name' },
): Promise<number> {
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  let after = 0;
  let e: Experiment;
  for (;;) {
    const page = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace: ref.namespace, experiment: ref.name, after: String(after), limit: '1000' })}`);
    for (const ev of page.items) console.log(eventLine(ev));
    if (page.items.length) after = page.items[page.items.length - 1].id;
    e = await client.get<Experiment>(expPath(ref.namespace, ref.name));
    if (TERMINAL_PHASES.includes(e.status.phase) && !page.nextCursor) break;
    if (Date.now() > deadline) {
      await client.post<Experiment>(`${expPath(ref.namespace, ref.name)}/stop`).catch(() => undefined);
      process.stderr.write(`error: experiment ${ref.namespace}/${ref.name} did not end within ${o.timeoutText}; stopped it\n`);
      return EXIT.timeout;
    }
    if (!page.nextCursor) await new Promise((r) => setTimeout(r, o.pollMs));
  }
  const events = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace: ref.namespace, experiment: ref.name, limit: '10000' })}`);
  if (o.output === 'json' || o.output === 'yaml') {
    console.log(o.output === 'json' ? JSON.stringify({ ...e, events: events.items }, null, 2) : yamlModule().stringify({ ...e, events: events.items }));
  } else {
    console.log('\n' + describeExperiment(e, []).split('\n\nEvents:')[0]);
    console.log(`\nresult: ${e.status.phase}${e.status.reason ? ` (${e.status.reason})` : ''}${e.status.message ? `: ${e.status.message}` : ''}`);
  }
  return exitCodeFor(e.status.phase);
}
