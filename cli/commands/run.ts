import type { Command } from 'commander';
import { TERMINAL_PHASES, type Experiment } from '../../api/experiment';
import { parseDuration } from '../../api/units';
import { Client, CliError, EXIT, clientOptions, expPath, run } from '../client';
import { describeImport, expandChaosMesh } from '../chaosmesh';
import { isWorkflowDoc, runWorkflow } from '../workflow';
import { docRef, readDocuments, withNamespace } from '../documents';
import { waitForExperiment } from '../wait';
import { checkKinds } from '../kinds-in-docs';

// `faultline run -f FILE [--wait]`: starts one experiment and, with --wait, prints its events
// until it ends, then a summary (cli/wait.ts: exit 0 Finished, 7 Aborted, 8 Failed, 9 --timeout).
// A name already used by an ended experiment gets a -<epoch seconds> suffix, so CI can rerun a file.

export { exitCodeFor } from '../wait';

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
      checkKinds(docs, o.file);
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
      return waitForExperiment(client, ref, { timeoutMs, timeoutText: o.timeout, pollMs, output: o.output });
    }),
  );
}
