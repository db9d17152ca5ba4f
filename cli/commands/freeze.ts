import type { Command } from 'commander';
import type { FreezeState } from '../../api/alerts';
import { parseDuration } from '../../api/units';
import { Client, CliError, EXIT, clientOptions, render, run, type ClientOptions } from '../client';

// `faultline freeze --reason TEXT [--for 2h]`: emergency freeze. Stops every running experiment and
// refuses every start, resume and scheduled run until `faultline unfreeze` (or --for runs out).
// Exit codes as every client command (README "CLI"): 2 bad flags, 6 token/role refused.

export function freezeText(state: FreezeState): string {
  if (!state.frozen) return 'chaos is not frozen';
  return `chaos is FROZEN since ${state.since} by ${state.actor}: ${state.reason}${state.until ? ` (until ${state.until})` : ''}`;
}

/** --for → the RFC 3339 `until` (now + duration). */
export function untilFor(text: string, now = Date.now()): string {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new CliError(`--for: ${(err as Error).message}`, EXIT.invalid);
  }
  if (!(ms > 0)) throw new CliError('--for must be longer than 0s', EXIT.invalid);
  return new Date(now + ms).toISOString();
}

export function registerFreeze(program: Command): void {
  clientOptions(
    program
      .command('freeze')
      .description('emergency freeze: stop every experiment and refuse new chaos until `faultline unfreeze` (operator)')
      .requiredOption('--reason <text>', 'why (shown to everyone whose start is refused)')
      .option('--for <duration>', 'lift by itself after this long, e.g. 30m, 2h'),
  ).action(
    run(async (o: ClientOptions & { reason: string; for?: string }) => {
      if (!o.reason.trim()) throw new CliError('--reason must not be empty', EXIT.invalid);
      const until = o.for !== undefined ? untilFor(o.for) : undefined;
      const state = await new Client(o).post<FreezeState>('/api/v1/freeze', { reason: o.reason, ...(until ? { until } : {}) });
      console.log(render(state, o.output, () => freezeText(state)));
    }),
  );
}
