import type { Command } from 'commander';
import type { Experiment } from '../api/experiment';
import { Client, clientOptions, expPath, render, run } from './client';

// The shape shared by `pause`, `resume` and `delete`: one request per named experiment.

export type Opts = { server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml' };

export function actionCommand(program: Command, verb: 'pause' | 'resume' | 'delete', description: string, past: string): void {
  clientOptions(program.command(verb).description(description).argument('<name...>', 'experiment names')).action(
    run(async (names: string[], o: Opts) => {
      const client = new Client(o);
      const done: Experiment[] = [];
      for (const name of names) {
        const e = verb === 'delete' ? await client.delete<Experiment>(expPath(o.namespace, name)) : await client.post<Experiment>(`${expPath(o.namespace, name)}/${verb}`);
        done.push(e);
        if (o.output === 'table') console.log(`experiment ${o.namespace}/${name} ${past} (phase ${e.status.phase})`);
      }
      if (o.output !== 'table') console.log(render(done.length === 1 ? done[0] : { items: done }, o.output, () => ''));
    }),
  );
}

