import { createRequire } from 'node:module';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { ErrorBody } from '../api/errors';
import { EXIT } from './exit';
import { httpRequest, type HttpResponse } from './http';
import { __dirnameOfPackage } from './version';

// The HTTP client every client command uses, the shared flags (each with its FAULTLINE_* twin),
// output formats, and the exit codes (documented in the README under "CLI").

export { EXIT } from './exit';

/** An error the user should read, with the exit code it ends the command with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  server: string;
  token?: string;
  output: 'json' | 'yaml' | 'table';
  namespace: string;
}

/** Adds --server, --token, -o, -n to a client command. */
export function clientOptions(cmd: Command, opts: { output?: boolean } = { output: true }): Command {
  cmd
    .addOption(new Option('--server <url>', 'exporter URL').env('FAULTLINE_SERVER').default('http://127.0.0.1:9470'))
    .addOption(new Option('--token <token>', 'bearer token').env('FAULTLINE_TOKEN'))
    .addOption(new Option('-n, --namespace <ns>', 'namespace').env('FAULTLINE_NAMESPACE').default('default'));
  if (opts.output !== false) cmd.addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).env('FAULTLINE_OUTPUT').default('table'));
  return cmd;
}

function exitFor(status: number): number {
  if (status === 400 || status === 413 || status === 422) return EXIT.invalid;
  if (status === 401 || status === 403) return EXIT.unauthorized;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.unavailable;
}

/** "message" plus one indented line per field detail. */
export function formatServerError(status: number, body: unknown): string {
  const err = (body as ErrorBody | undefined)?.error;
  if (!err) return `server answered HTTP ${status}`;
  const lines = [err.message];
  for (const d of err.details ?? []) if (!err.message.includes(`${d.field} ${d.reason}`) || (err.details?.length ?? 0) > 1) lines.push(`  ${d.field}: ${d.reason}`);
  return lines.join('\n');
}

/** The exporter's base URL from --server; a host:port without a scheme is a usage error with a hint. */
export function serverUrl(server: string): string {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.host) {
    const hint = /^[A-Za-z0-9.[\]:-]+(:[0-9]+)?(\/.*)?$/.test(server) ? `: did you mean http://${server}?` : ': give http://HOST:PORT';
    throw new CliError(`--server ${JSON.stringify(server)} is not an http(s) URL${hint}`, EXIT.invalid);
  }
  return url.href.replace(/\/+$/, '');
}

export class Client {
  readonly base: string;

  constructor(readonly o: Pick<ClientOptions, 'server' | 'token'>) {
    this.base = serverUrl(o.server);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}), ...extra };
  }

  async raw(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
    try {
      return await httpRequest(new URL(this.base + path), {
        method,
        headers: this.headers({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const e = err as Error & { code?: string };
      throw new CliError(`cannot reach the exporter at ${this.base}: ${e.code ?? e.message} (is it running? --server or FAULTLINE_SERVER says where)`, EXIT.unavailable);
    }
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text && /\bjson\b/.test(res.contentType) ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    // Anything but a JSON answer (or a Faultline error body) is another server at that address.
    const faultlineError = (parsed as ErrorBody | undefined)?.error?.message !== undefined;
    if (res.ok ? parsed === undefined && text !== '' : !faultlineError) {
      throw new CliError(
        `${this.base} answered ${method} ${path.split('?')[0]} with HTTP ${res.status}${res.contentType ? ` (${res.contentType.split(';')[0]})` : ''}: not a Faultline exporter? Check --server or FAULTLINE_SERVER`,
        res.ok ? EXIT.unavailable : exitFor(res.status),
      );
    }
    if (!res.ok) throw new CliError(formatServerError(res.status, parsed), exitFor(res.status));
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}

export const expPath = (ns: string, name: string) => `/api/v1/experiments/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;

// yaml is loaded on first use (synchronously, so render stays a plain function): tables and JSON
// are the common case, and loading yaml costs about as much as the rest of a client command.
let yaml: typeof import('yaml') | undefined;
export function yamlModule(): typeof import('yaml') {
  return (yaml ??= createRequire(path.join(__dirnameOfPackage(), 'package.json'))('yaml') as typeof import('yaml'));
}

export function render(value: unknown, format: ClientOptions['output'], table: () => string): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  if (format === 'yaml') return yamlModule().stringify(value).trimEnd();
  return table();
}

/** Aligned columns; the last column is not padded. */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ');
  return [line(headers), ...cells.map(line)].join('\n');
}

/** "3m12s"-style age of an ISO time. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  let s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : `${m}m${s}s`;
}

/** A duration flag ("30s", "2m") in milliseconds; anything else is a usage error naming the flag. */
export function durationFlag(flag: string, text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new CliError(`${flag} ${JSON.stringify(text)} is not a duration: use e.g. 500ms, 30s, 5m or 1h`, EXIT.invalid);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** Wraps a command action: a CliError prints its message and exits with its code. */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void | number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : EXIT.ok;
    } catch (err) {
      if (err instanceof CliError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exit(err.exitCode);
      }
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(EXIT.error);
    }
  };
}
