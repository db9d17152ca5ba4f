import { Command, CommanderError } from 'commander';
import { EXIT_USAGE } from './exit';
import { COMMANDS } from './commands/index';
import { VERSION } from './version';

// `faultline`: every subcommand is one file in cli/commands/, listed in cli/commands/index.ts.
// Only the file of the command that runs is imported; the others are listed by their summary, so
// `faultline --help`, `get` and `describe` start about as fast as node itself.

/** The subcommand the arguments name (`faultline help get` names get), if any. */
export function commandIn(args: readonly string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('faultline')
    .description('Chaos engineering that lives in Grafana')
    .version(VERSION)
    .showHelpAfterError("(run 'faultline --help' for the commands)")
    // A usage error (unknown command or flag, bad flag value) exits 2, like invalid input; help and --version exit 0.
    .exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));
  const wanted = commandIn(argv.slice(2));
  for (const c of COMMANDS) {
    if (c.name === wanted) {
      (await c.load())(program);
      program.commands.find((cmd) => cmd.name() === c.name)?.summary(c.summary).showHelpAfterError(`(run 'faultline ${c.name} --help' for usage)`);
    } else {
      program.command(c.name).summary(c.summary);
    }
  }
  await program.parseAsync(argv);
}

/** The message for an error that ended a command, ending in what to do where we know it. */
export function errorMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code === 'EADDRINUSE') return `port ${e.port ?? '?'} is taken${e.address ? ` on ${e.address}` : ''} (another faultline, or another service, listens there): stop it, or use --listen HOST:PORT (for the embedded daemon of start: --daemon-listen)`;
  if (e?.code === 'EACCES' && e.syscall === 'listen') return `may not listen on port ${e.port ?? '?'}${e.address ? ` of ${e.address}` : ''}: ports below 1024 need root; use --listen HOST:PORT with a higher port`;
  if (e?.code === 'EADDRNOTAVAIL' && e.syscall === 'listen') return `${e.address ?? 'that address'} is not an address of this host: use --listen HOST:PORT with one of its addresses, or 0.0.0.0`;
  return err instanceof Error ? err.message : String(err);
}

main(process.argv).catch((err: unknown) => {
  console.error(`faultline: ${errorMessage(err)}`);
  process.exit(1);
});
