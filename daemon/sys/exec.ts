import { execFile } from 'node:child_process';

// The one way the daemon runs a system tool: an argv array, never a shell. Input for tools that
// read a script (nft -f -) goes through stdin. Errors carry the tool's stderr so callers can map
// them to ApiErrors with a reason a human can act on.

export class ToolError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.trim() || 'no output'}`);
    this.name = 'ToolError';
  }
}

export interface RunOptions {
  /** Written to the tool's stdin. */
  input?: string;
  timeoutMs?: number;
  /** Run inside this network namespace (a path such as /run/netns/x or /proc/123/ns/net). */
  netnsPath?: string;
}

/** Runs `cmd args...` (inside `netnsPath` through nsenter when given); resolves stdout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const [file, argv] = opts.netnsPath ? ['nsenter', [`--net=${opts.netnsPath}`, '--', cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as { status?: number }).status ?? null;
          reject(new ToolError(cmd, args, code as number | string | null, String(stderr || err.message)));
        } else {
          resolve(String(stdout));
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Whether `cmd args` exits 0 (for capability probes). */
export async function succeeds(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<boolean> {
  try {
    await run(cmd, args, opts);
    return true;
  } catch {
    return false;
  }
}
