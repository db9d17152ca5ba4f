import { Command, Option } from 'commander';
import { parseDuration } from '../../api/units';

// `faultline freeze --reason TEXT [--for 2h]`: emergency freeze. Stops every running experiment and
// refuses every start, resume and scheduled run until `faultline unfreeze` (or --for runs out).
// Exit codes: 0 frozen, 1 refused by the server or unreachable, 2 bad flags.

export interface ServerFlags {
  server: string;
  token?: string;
}

/** One request to the exporter; prints the server's error the way a user wants to read it. */
export async function callExporter(flags: ServerFlags, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = `${flags.server.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(flags.token ? { authorization: `Bearer ${flags.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    throw new Error(`cannot reach the exporter at ${flags.server}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { message?: string; details?: { field: string; reason: string }[] } } | undefined)?.error;
    const details = e?.details?.map((d) => `\n  ${d.field}: ${d.reason}`).join('') ?? '';
    throw new Error(`${res.status} ${e?.message ?? text.slice(0, 500)}${details}`);
  }
  return json;
}

export function serverOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'exporter URL').env('FAULTLINE_SERVER').default('http://127.0.0.1:9470'))
    .addOption(new Option('--token <token>', 'API token (operator to freeze, admin to unfreeze)').env('FAULTLINE_TOKEN'));
}

export function printFreeze(state: { frozen: boolean; reason?: string; actor?: string; since?: string; until?: string }): void {
  if (!state.frozen) {
    process.stdout.write('chaos is not frozen\n');
    return;
  }
  process.stdout.write(`chaos is FROZEN since ${state.since} by ${state.actor}: ${state.reason}${state.until ? ` (until ${state.until})` : ''}\n`);
}

export function registerFreeze(program: Command): void {
  serverOptions(
    program
      .command('freeze')
      .description('emergency freeze: stop every experiment and refuse new chaos until `faultline unfreeze`')
      .requiredOption('--reason <text>', 'why (shown to everyone whose start is refused)')
      .option('--for <duration>', 'lift by itself after this long, e.g. 30m, 2h'),
  ).action(async (o: ServerFlags & { reason: string; for?: string }) => {
    let until: string | undefined;
    if (o.for !== undefined) {
      let ms: number;
      try {
        ms = parseDuration(o.for);
      } catch (err) {
        process.stderr.write(`faultline: --for: ${(err as Error).message}\n`);
        process.exit(2);
      }
      if (ms <= 0) {
        process.stderr.write('faultline: --for must be longer than 0s\n');
        process.exit(2);
      }
      until = new Date(Date.now() + ms).toISOString();
    }
    if (!o.reason.trim()) {
      process.stderr.write('faultline: --reason must not be empty\n');
      process.exit(2);
    }
    const state = (await callExporter(o, 'POST', '/api/v1/freeze', { reason: o.reason, ...(until ? { until } : {}) })) as Parameters<typeof printFreeze>[0];
    printFreeze(state);
  });
}
