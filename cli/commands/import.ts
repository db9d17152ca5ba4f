import type { Command } from 'commander';
import YAML from 'yaml';
import { describeImport, expandChaosMesh } from '../chaosmesh';
import { CliError, EXIT, run } from '../client';
import { readDocuments } from '../documents';
import { checkKinds } from '../kinds-in-docs';

// `faultline import -f chaos.yaml`: prints the Faultline experiments and workflows that Chaos Mesh documents map
// to (YAML or JSON on stdout); every field that could not be mapped goes to stderr. `--strict`
// makes any unmapped field an error (exit 2). Apply the output with `faultline apply -f -`,
// or give the Chaos Mesh file to `apply` directly.
export function registerImport(program: Command): void {
  program
    .command('import')
    .description('convert Chaos Mesh YAML (PodChaos, NetworkChaos, StressChaos, IOChaos, HTTPChaos, DNSChaos, TimeChaos, Schedule, Workflow) into Faultline experiments and workflows')
    .requiredOption('-f, --file <file>', 'YAML or JSON file, or - for stdin')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .option('--strict', 'fail (exit 2) when any field cannot be mapped', false)
    .action(
      run(async (o: { file: string; output: string; strict: boolean }) => {
        if (o.output !== 'yaml' && o.output !== 'json') throw new CliError(`--output must be yaml or json, not "${o.output}"`, EXIT.invalid);
        const { docs, result } = expandChaosMesh(await readDocuments(o.file));
        for (const line of describeImport(result)) process.stderr.write(`${line}\n`);
        checkKinds(docs, o.file);
        const foreign = docs.length - result.experiments.length - result.workflows.length;
        if (foreign > 0) process.stderr.write(`note: ${foreign} document(s) were not Chaos Mesh resources and are passed through unchanged\n`);
        if (docs.length === 0) throw new CliError('nothing could be converted', EXIT.invalid);
        if (o.output === 'json') console.log(JSON.stringify(docs.length === 1 ? docs[0] : { items: docs }, null, 2));
        else process.stdout.write(docs.map((d) => YAML.stringify(d)).join('---\n'));
        return o.strict && result.unmapped.length > 0 ? EXIT.invalid : EXIT.ok;
      }),
    );
}
