import type { Command } from 'commander';
import type { EventList } from '../../api/events';
import type { Experiment, ExperimentList } from '../../api/experiment';
import type { KindList, TargetList } from '../../api/targets';
import { Client, CliError, EXIT, clientOptions, expPath, render, run } from '../client';
import { eventsTable, experimentsTable, kindsTable, targetsTable } from '../format';
import type { Workflow } from '../../api/workflow';
import { stepsTable, wfPath, workflowsTable } from '../workflow';

// `faultline get experiments [NAME] | events | kinds | targets`.
const RESOURCES: Record<string, 'experiments' | 'events' | 'kinds' | 'targets' | 'workflows'> = {
  workflows: 'workflows', workflow: 'workflows', wf: 'workflows',
  experiments: 'experiments', experiment: 'experiments', exp: 'experiments', exps: 'experiments',
  events: 'events', event: 'events', ev: 'events',
  kinds: 'kinds', kind: 'kinds',
  targets: 'targets', target: 'targets',
};

export function registerGet(program: Command): void {
  clientOptions(
    program
      .command('get')
      .description('list experiments (or one), events, fault kinds or targets')
      .argument('<resource>', 'experiments | workflows | events | kinds | targets')
      .argument('[name]', 'one experiment by name')
      .option('-A, --all-namespaces', 'every namespace')
      .option('--phase <phases>', 'experiments in these phases (comma separated)')
      .option('--kind <kind>', 'only this fault kind')
      .option('--experiment <name>', 'events of this experiment')
      .option('--type <types>', 'events of these types (comma separated)')
      .option('--since <time>', 'events from this RFC 3339 time or epoch ms')
      .option('--limit <n>', 'at most this many events', '1000'),
  ).action(
    run(async (resource: string, name: string | undefined, o: { server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml'; allNamespaces?: boolean; phase?: string; kind?: string; experiment?: string; type?: string; since?: string; limit: string }) => {
      const what = RESOURCES[resource.toLowerCase()];
      if (!what) throw new CliError(`unknown resource "${resource}": use experiments, workflows, events, kinds or targets`, EXIT.invalid);
      const client = new Client(o);
      const ns = o.allNamespaces ? undefined : o.namespace;
      if (what === 'workflows') {
        if (name) {
          const w = await client.get<Workflow>(wfPath(o.namespace, name));
          console.log(render(w, o.output, () => `${workflowsTable([w])}\n\n${stepsTable(w)}`));
          return;
        }
        const q = new URLSearchParams({ ...(ns ? { namespace: ns } : {}), ...(o.phase ? { phase: o.phase } : {}) });
        const list = await client.get<{ items: Workflow[] }>(`/api/v1/workflows?${q}`);
        console.log(render(list, o.output, () => workflowsTable(list.items)));
      } else if (what === 'experiments') {
        if (name) {
          const e = await client.get<Experiment>(expPath(o.namespace, name));
          console.log(render(e, o.output, () => experimentsTable([e])));
          return;
        }
        const q = new URLSearchParams({ ...(ns ? { namespace: ns } : {}), ...(o.phase ? { phase: o.phase } : {}), ...(o.kind ? { kind: o.kind } : {}) });
        const list = await client.get<ExperimentList>(`/api/v1/experiments?${q}`);
        console.log(render(list, o.output, () => experimentsTable(list.items)));
      } else if (what === 'events') {
        const q = new URLSearchParams({
          ...(ns ? { namespace: ns } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.experiment ?? name ? { experiment: (o.experiment ?? name)! } : {}),
          ...(o.type ? { type: o.type } : {}),
          ...(o.since ? { from: o.since } : {}),
          limit: o.limit,
        });
        const list = await client.get<EventList>(`/api/v1/events?${q}`);
        console.log(render(list, o.output, () => eventsTable(list.items)));
      } else if (what === 'kinds') {
        const list = await client.get<KindList>('/api/v1/kinds');
        console.log(render(list, o.output, () => kindsTable(list.items)));
      } else {
        const list = await client.get<TargetList>('/api/v1/targets');
        console.log(render(list, o.output, () => targetsTable(list.items)));
      }
    }),
  );
}
