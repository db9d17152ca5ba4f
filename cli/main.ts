import { Command } from 'commander';
import { COMMANDS } from './commands/index';
import { VERSION } from './version';

// `faultline`: every subcommand is one file in cli/commands/, listed in cli/commands/index.ts.
const program = new Command('faultline')
  .description('Chaos engineering that lives in Grafana')
  .version(VERSION)
  .showHelpAfterError();

for (const register of COMMANDS) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`faultline: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
