import { addonPath, loadAddon } from '../native/addon';
import { run, ToolError } from './exec';

// nftables. A fault's rules live in one table of its own (family inet), loaded atomically from a
// script and removed by deleting that table, so recovery removes exactly what the fault added. Every
// word in a script comes from validated input (see api/common.ts).
//
// Two ways to run a script, with the same language, atomicity and error texts:
// - libnftables inside the daemon (daemon/native/nft.c, built at install): ~1 ms of CPU a command;
// - the `nft` binary (through nsenter for another netns): ~14 ms, what a host without the addon gets.
// On a node reverting dozens of network faults at once, that difference is most of the stop's CPU.

interface NativeNft {
  run(script: string, netnsPath: string | null): Promise<string>;
}

export const NATIVE_NFT_PATH = addonPath('faultline-nft.node');

const native = loadAddon<NativeNft>(NATIVE_NFT_PATH, { env: 'FAULTLINE_NFT', value: 'binary', needs: 'libnftables-dev' });

/** Which way scripts run, for /v1/info and the capability detail. */
export function nftBackend(): { native: boolean; detail: string } {
  return native.addon ? { native: true, detail: 'libnftables in the daemon' } : { native: false, detail: `nft binary (${native.why})` };
}

// One script at a time through the addon: each call holds a libuv pool thread while it runs, and
// queuing here (not on the addon's mutex) leaves the other pool threads to the journal's file writes.
let queue: Promise<unknown> = Promise.resolve();

function runNative(addon: NativeNft, script: string, args: readonly string[], netnsPath?: string): Promise<string> {
  const call = queue.then(() =>
    addon.run(script, netnsPath ?? null).catch((err: Error & { code?: string }) => {
      // the same shape the binary's failures have, so callers map both alike
      // the binary reads the script as /dev/stdin, the addon from a memfd: name it as the binary does
      throw new ToolError(err.code === 'ENFT' ? 'nft' : 'nsenter', args, err.code ?? null, err.message.replace(/^\/proc\/self\/fd\/\d+:/gm, '/dev/stdin:'));
    }),
  );
  queue = call.catch(() => undefined);
  return call;
}

/** Runs `script`; `args` is the same command for the binary, which reads the script on stdin when they end in `-`. */
function nft(args: readonly string[], script: string, netnsPath?: string): Promise<string> {
  if (native.addon) return runNative(native.addon, script, args, netnsPath);
  return run('nft', args, { input: args.at(-1) === '-' ? script : undefined, netnsPath });
}

/** Loads an nft script atomically (all or nothing) in the given netns. */
export async function loadScript(script: string, netnsPath?: string): Promise<void> {
  await nft(['-f', '-'], script, netnsPath);
}

/** Deletes `inet <table>`; a table (or namespace) that is already gone counts as done. */
export async function deleteTable(table: string, netnsPath?: string): Promise<void> {
  try {
    await nft(['delete', 'table', 'inet', table], `delete table inet ${table}`, netnsPath);
  } catch (err) {
    if (err instanceof ToolError && isGone(err)) return;
    throw err;
  }
}

/** Names of the inet tables in a netns. */
export async function listTables(netnsPath?: string): Promise<string[]> {
  const out = await nft(['list', 'tables', 'inet'], 'list tables inet', netnsPath);
  return [...out.matchAll(/^table inet (\S+)/gm)].map((m) => m[1]);
}

function isGone(err: ToolError): boolean {
  return /No such file or directory|does not exist|ENOENT|cannot open/i.test(err.stderr) || err.cmd === 'nsenter';
}
