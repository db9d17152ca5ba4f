import type { Command } from 'commander';
import { callExporter, printFreeze, serverOptions, type ServerFlags } from './freeze';

// `faultline unfreeze`: lifts the emergency freeze (admin role). Exit 0 also when nothing was frozen.
export function registerUnfreeze(program: Command): void {
  serverOptions(program.command('unfreeze').description('lift the emergency freeze so experiments may start again')).action(async (o: ServerFlags) => {
    const r = (await callExporter(o, 'DELETE', '/api/v1/freeze')) as { lifted: { actor?: string; reason?: string } | null };
    if (r.lifted) process.stdout.write(`freeze lifted (was set by ${r.lifted.actor}: ${r.lifted.reason})\n`);
    else printFreeze({ frozen: false });
  });
}
