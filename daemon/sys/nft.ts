import { run, ToolError } from './exec';

// nftables through the `nft` binary. A fault's rules live in one table of its own (family inet),
// loaded atomically from a script on stdin and removed by deleting that table, so recovery removes
// exactly what the fault added. Every word in a script comes from validated input (see api/common.ts).

/** Loads an nft script atomically (all or nothing) in the given netns. */
export async function loadScript(script: string, netnsPath?: string): Promise<void> {
  await run('nft', ['-f', '-'], { input: script, netnsPath });
}

/** Deletes `inet <table>`; a table (or namespace) that is already gone counts as done. */
export async function deleteTable(table: string, netnsPath?: string): Promise<void> {
  try {
    await run('nft', ['delete', 'table', 'inet', table], { netnsPath });
  } catch (err) {
    if (err instanceof ToolError && isGone(err)) return;
    throw err;
  }
}

/** Names of the inet tables in a netns. */
export async function listTables(netnsPath?: string): Promise<string[]> {
  const out = await run('nft', ['list', 'tables', 'inet'], { netnsPath });
  return [...out.matchAll(/^table inet (\S+)/gm)].map((m) => m[1]);
}

function isGone(err: ToolError): boolean {
  return /No such file or directory|does not exist|ENOENT|cannot open/i.test(err.stderr) || err.cmd === 'nsenter';
}
