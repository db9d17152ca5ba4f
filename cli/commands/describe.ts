import type { Command } from 'commander';
import type { EventList } from '../../api/events';
import type { Experiment } from '../../api/experiment';
import { Client, clientOptions, expPath, render, run } from '../client';
import { describeExperiment } from '../format';

// `faultline describe NAME`: spec, status, per-target records and the experiment's events.
export function registerDescribe(program: Command): void {
  clientOptions(program.command('describe').description('show one experiment in detail, with its targets and events').argument('<name>', 'experiment name')).action(
    run(async (name: string, o: { server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml' }) => {
      const client = new Client(o);
      const e = await client.get<Experiment>(expPath(o.namespace, name));
      const events = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace: o.namespace, experiment: name, limit: '10000' })}`);
      console.log(render({ ...e, events: events.items }, o.output, () => describeExperiment(e, events.items)));
    }),
  );
}
