import type { Command } from 'commander';
import type { Experiment } from '../../api/experiment';
import { Client, CliError, EXIT, clientOptions, expPath, render, run } from '../client';
import { describeImport, expandChaosMesh } from '../chaosmesh';
import { isWorkflowDoc } from '../workflow';
import { checkKinds } from '../kinds-in-docs';
import { docRef, readDocuments, subsetEqual, withNamespace } from '../documents';

// `faultline apply -f FILE|-`: creates each experiment document. One that exists with the same
// spec is "unchanged"; with a different spec it is a conflict (experiments are immutable:
// delete and apply again). Every document is tried; the exit code is the first failure's.
export function registerApply(program: Command): void {
  clientOptions(
    program
      .command('apply')
      .description('create the experiments in a YAML or JSON file (several documents allowed; - reads stdin)')
      .requiredOption('-f, --file <file>', 'YAML or JSON file, or - for stdin'),
  ).action(
    run(async (o: { file: string; server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml' }) => {
      const client = new Client(o);
      // Chaos Mesh documents are converted first; what they cannot carry over is printed, never dropped.
      const { docs, result } = expandChaosMesh(await readDocuments(o.file));
      for (const line of describeImport(result)) process.stderr.write(`${line}\n`);
      checkKinds(docs, o.file);
      let exit: number = EXIT.ok;
      const created: Experiment[] = [];
      for (const [i, raw] of docs.entries()) {
        const doc = withNamespace(raw, o.namespace);
        const ref = docRef(doc, o.namespace);
        const workflow = isWorkflowDoc(doc);
        const label = `${workflow ? 'workflow' : 'experiment'} ${ref.namespace}/${ref.name}`;
        try {
          if (workflow) {
            await client.post('/api/v1/workflows', doc);
            if (o.output === 'table') console.log(`${label} created`);
            continue;
          }
          const e = await client.post<Experiment>('/api/v1/experiments', doc);
          created.push(e);
          if (o.output === 'table') console.log(`${label} created`);
        } catch (err) {
          if (!(err instanceof CliError)) throw err;
          if (err.exitCode === EXIT.conflict && ref.name !== '?') {
            const existing = await client.get<Experiment>(expPath(ref.namespace, ref.name)).catch(() => undefined);
            if (existing && subsetEqual((doc as { spec?: unknown }).spec, existing.spec)) {
              created.push(existing);
              if (o.output === 'table') console.log(`${label} unchanged`);
              continue;
            }
          }
          process.stderr.write(`error: document ${i + 1} (${label}): ${err.message}\n`);
          if (exit === EXIT.ok) exit = err.exitCode;
        }
      }
      if (o.output !== 'table' && created.length) console.log(render(created.length === 1 ? created[0] : { items: created }, o.output, () => ''));
      return exit;
    }),
  );
}
