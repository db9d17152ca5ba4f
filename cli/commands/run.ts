import type { Command } from 'commander';
import type { EventList } from '../../api/events';
import { TERMINAL_PHASES, type Experiment } from '../../api/experiment';
import { parseDuration } from '../../api/units';
import { Client, CliError, EXIT, clientOptions, expPath, run } from '../client';
import { describeImport, expandChaosMesh } from '../chaosmesh';
import { isWorkflowDoc, runWorkflow } from '../workflow';
import { docRef, readDocuments, withNamespace } from '../documents';
import { describeExperiment, eventLine } from '../format';

// `faultline run -f FILE [--wait]`: starts one experiment and, with --wait, prints its events
// until it ends, then a summary. Exit 0 on Finished, 7 on Aborted, 8 on Failed, 9 when --timeout
// passes first (the experiment is stopped then), so a CI job fails when a guard aborted the chaos.
// A name already used by an ended experiment gets a -<epoch seconds> suffix, so CI can rerun a file.

export function exitCodeFor(phase: string): number {
  return phase === 'Finished' ? EXIT.ok : phase === 'Aborted' ? EXIT.aborted : EXIT.failed;
}

export function registerRun(program: Command): void {
  clientOptions(
    program
      .command('run')
      .description('start one experiment from a file; with --wait, wait for its end and exit non-zero unless it Finished')
      .requiredOption('-f, --file <file>', 'YAML or JSON file with one experiment, or - for stdin')
      .option('--wait', 'wait for the end, print events and a summary')
      .option('--timeout <duration>', 'with --wait: stop the experiment and exit 9 after this long (e.g. 10m)')
      .option('--poll <duration>', 'with --wait: how often to poll', '500ms'),
  ).action(
    run(async (o: { file: string; wait?: boolean; timeout?: string; poll: string; server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml' }) => {
      let timeoutMs: number | undefined;
      let pollMs: number;
      try {
        timeoutMs = o.timeout ? parseDuration(o.timeout) : undefined;
        pollMs = Math.max(50, parseDuration(o.poll));
      } catch (err) {
        throw new CliError(`--timeout/--poll: ${(err as Error).message}`, EXIT.invalid);
      }
      const client = new Client(o);
      const { docs, result } = expandChaosMesh(await readDocuments(o.file));
      for (const line of describeImport(result)) process.stderr.write(`${line}\n`);
      if (docs.length !== 1) throw new CliError(`${o.file} holds ${docs.length} documents; run takes exactly one experiment (use apply for several)`, EXIT.invalid);
      if (isWorkflowDoc(docs[0])) return runWorkflow(client, withNamespace(docs[0], o.namespace), { wait: o.wait, timeoutMs, pollMs, namespace: o.namespace });
      let doc = withNamespace(docs[0], o.namespace) as { metadata?: { name?: string }; spec?: { schedule?: string } };
      if (doc.spec?.schedule) throw new CliError('run starts one experiment; this one has spec.schedule (use apply)', EXIT.invalid);
      let ref = docRef(doc, o.namespace);
      let e: Experiment;
      try {
        e = await client.post<Experiment>('/api/v1/experiments', doc);
      } catch (err) {
        const prev = err instanceof CliError && err.exitCode === EXIT.conflict ? await client.get<Experiment>(expPath(ref.namespace, ref.name)).catch(() => undefined) : undefined;
        if (!prev || !TERMINAL_PHASES.includes(prev.status.phase)) throw err;
        const name = `${ref.name.slice(0, 52)}-${Math.floor(Date.now() / 1000)}`;
        doc = { ...doc, metadata: { ...doc.metadata, name } };
        ref = { ...ref, name };
        e = await client.post<Experiment>('/api/v1/experiments', doc);
      }
      console.log(`experiment ${ref.namespace}/${ref.name} created (${e.spec.fault.kind} on ${e.status.targets.length} target(s) for ${e.spec.duration})`);
      if (!o.wait) return;
      const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
      let after = 0;
      for (;;) {
        const page = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace: ref.namespace, experiment: ref.name, after: String(after), limit: '1000' })}`);
        for (const ev of page.items) console.log(eventLine(ev));
        if (page.items.length) after = page.items[page.items.length - 1].id;
        e = await client.get<Experiment>(expPath(ref.namespace, ref.name));
        if (TERMINAL_PHASES.includes(e.status.phase) && !page.nextCursor) break;
        if (Date.now() > deadline) {
          await client.post<Experiment>(`${expPath(ref.namespace, ref.name)}/stop`).catch(() => undefined);
          process.stderr.write(`error: experiment ${ref.namespace}/${ref.name} did not end within ${o.timeout}; stopped it\n`);
          return EXIT.timeout;
        }
        if (!page.nextCursor) await new Promise((r) => setTimeout(r, pollMs));
      }
      const events = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace: ref.namespace, experiment: ref.name, limit: '10000' })}`);
      if (o.output === 'table') {
        console.log('\n' + describeExperiment(e, []).split('\n\nEvents:')[0]);
        console.log(`\nresult: ${e.status.phase}${e.status.reason ? ` (${e.status.reason})` : ''}${e.status.message ? `: ${e.status.message}` : ''}`);
      } else {
        console.log(o.output === 'json' ? JSON.stringify({ ...e, events: events.items }, null, 2) : (await import('yaml')).default.stringify({ ...e, events: events.items }));
      }
      return exitCodeFor(e.status.phase);
    }),
  );
}
