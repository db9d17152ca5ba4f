import type { Command } from 'commander';
import type { EventList } from '../../api/events';
import type { Experiment } from '../../api/experiment';
import type { Workflow } from '../../api/workflow';
import { Client, CliError, EXIT, clientOptions, expPath, render, run } from '../client';
import { describeExperiment, eventLine, yamlBlock } from '../format';
import { stepsTable, wfPath } from '../workflow';

// `faultline describe [experiment|schedule|workflow] NAME`: spec (as YAML), status, per-target records
// or steps, and the events. A bare NAME is an experiment (schedules are experiments with spec.schedule).

const KINDS: Record<string, 'experiment' | 'workflow'> = {
  experiment: 'experiment', experiments: 'experiment', exp: 'experiment', schedule: 'experiment', schedules: 'experiment',
  workflow: 'workflow', workflows: 'workflow', wf: 'workflow',
};

export function describeWorkflow(w: Workflow, events: EventList['items']): string {
  const s = w.status;
  return [
    `Name:        ${w.metadata.name}`,
    `Namespace:   ${w.metadata.namespace}`,
    `Created:     ${w.metadata.creationTimestamp}`,
    `Phase:       ${s.phase}`,
    ...(s.message ? [`Message:     ${s.message}`] : []),
    'Spec:',
    ...yamlBlock(w.spec),
    '',
    'Steps:',
    stepsTable(w)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
    '',
    'Events:',
    events.length ? events.map((ev) => `  ${eventLine(ev)}`).join('\n') : '  none',
  ].join('\n');
}

export function registerDescribe(program: Command): void {
  clientOptions(
    program
      .command('describe')
      .description('show one experiment, schedule or workflow in detail: spec, targets or steps, events')
      .argument('<what>', 'experiment name, or experiment | schedule | workflow')
      .argument('[name]', 'the name, when the first argument says what it is'),
  ).action(
    run(async (what: string, maybeName: string | undefined, o: { server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml' }) => {
      let kind: 'experiment' | 'workflow' = 'experiment';
      let name = what;
      if (maybeName !== undefined) {
        const k = KINDS[what.toLowerCase()];
        if (!k) throw new CliError(`cannot describe "${what}": use experiment, schedule or workflow`, EXIT.invalid);
        kind = k;
        name = maybeName;
      }
      const client = new Client(o);
      const events = () => client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace: o.namespace, experiment: name, limit: '10000' })}`);
      if (kind === 'workflow') {
        const w = await client.get<Workflow>(wfPath(o.namespace, name));
        const ev = await events();
        console.log(render({ ...w, events: ev.items }, o.output, () => describeWorkflow(w, ev.items)));
        return;
      }
      const e = await client.get<Experiment>(expPath(o.namespace, name));
      const ev = await events();
      console.log(render({ ...e, events: ev.items }, o.output, () => describeExperiment(e, ev.items)));
    }),
  );
}
