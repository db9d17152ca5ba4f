import { ApiError } from '../../api/errors';
import { ToolError } from '../sys/exec';
import { deleteTable, loadScript } from '../sys/nft';
import { PROXY_GID } from './config';

// Transparent mode: an nft table of the fault's own in the target's network namespace redirects
// the target port to the proxy, for clients in the namespace (output hook) and for connections
// coming into it (prerouting). The proxy's own sockets carry PROXY_GID and are left alone, so its
// connections to the original destination do not loop back into it.

export function redirectTableName(faultId: string): string {
  return `faultline-${faultId}`;
}

export function redirectScript(table: string, targetPort: number, proxyPort: number): string {
  return [
    `table inet ${table} {`,
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    meta skgid != ${PROXY_GID} tcp dport ${targetPort} redirect to :${proxyPort}`,
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority -100; policy accept;',
    `    tcp dport ${targetPort} redirect to :${proxyPort}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function addRedirect(table: string, targetPort: number, proxyPort: number, netnsPath?: string): Promise<void> {
  try {
    await loadScript(redirectScript(table, targetPort, proxyPort), netnsPath);
  } catch (err) {
    if (err instanceof ToolError && /File exists/i.test(err.stderr)) {
      throw ApiError.conflict(`nft table ${table} already exists in the target network namespace`);
    }
    throw err;
  }
}

export async function removeRedirect(table: string, netnsPath?: string): Promise<void> {
  await deleteTable(table, netnsPath);
}
