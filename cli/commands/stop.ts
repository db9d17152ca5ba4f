import type { Command } from 'commander';
import type { Experiment, StopAllResult } from '../../api/experiment';
import type { Opts } from '../actions';
import { Client, CliError, EXIT, clientOptions, expPath, render, run } from '../client';
import { experimentsTable } from '../format';

// `faultline stop NAME...` (recover, phase Finished) or `faultline stop --all` (abort everything active).
export function registerStop(program: Command): void {
  clientOptions(
    program
      .command('stop')
      .description('recover and end experiments (Finished); --all aborts every active experiment')
      .argument('[name...]', 'experiment names')
      .option('--all', 'abort every active experiment in every namespace'),
  ).action(
    run(async (names: string[], o: Opts & { all?: boolean }) => {
      if (o.all && names.length) throw new CliError('give experiment names or --all, not both', EXIT.invalid);
      if (!o.all && names.length === 0) throw new CliError('give experiment names to stop, or --all', EXIT.invalid);
      const client = new Client(o);
      if (o.all) {
        const res = await client.post<Partial<StopAllResult> & Pick<StopAllResult, 'stopped'>>('/api/v1/stop-all');
        const lines = [
          ...res.stopped.map((r) => `experiment ${r.namespace}/${r.name} aborted`),
          ...(res.suspendedSchedules ?? []).map((r) => `schedule ${r.namespace}/${r.name} suspended (faultline resume ${r.name} to start it again)`),
          ...(res.abortedWorkflows ?? []).map((r) => `workflow ${r.namespace}/${r.name} aborted`),
        ];
        console.log(render(res, o.output, () => (lines.length ? lines.join('\n') : 'nothing was running')));
        return;
      }
      const done: Experiment[] = [];
      for (const name of names) done.push(await client.post<Experiment>(`${expPath(o.namespace, name)}/stop`));
      console.log(render(done.length === 1 ? done[0] : { items: done }, o.output, () => experimentsTable(done)));
    }),
  );
}
