import type { Command } from 'commander';
import type { FreezeState } from '../../api/alerts';
import { Client, clientOptions, render, run, type ClientOptions } from '../client';
import { freezeText } from './freeze';

// `faultline unfreeze`: lifts the emergency freeze (admin role). Exit 0 also when nothing was frozen.
export function registerUnfreeze(program: Command): void {
  clientOptions(program.command('unfreeze').description('lift the emergency freeze so experiments may start again (admin)')).action(
    run(async (o: ClientOptions) => {
      const r = await new Client(o).delete<FreezeState & { lifted: FreezeState | null }>('/api/v1/freeze');
      console.log(render(r, o.output, () => (r.lifted ? `freeze lifted (was set by ${r.lifted.actor}: ${r.lifted.reason})` : freezeText(r))));
    }),
  );
}
