import { PROXY_GID } from '../proxy/config';

// The dns-fault's nft table, in the target's network namespace: DNS leaving the namespace (UDP and TCP
// port 53, to any address) goes to the responder instead. Only the output hook: that is where the
// namespace's own queries leave, whichever resolver they were sent to (loopback stub resolvers too).
// The responder's sockets carry PROXY_GID and are skipped, so its forwarded queries leave for real.

export function dnsRedirectScript(table: string, port: number): string {
  return [
    `table inet ${table} {`,
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    meta skgid != ${PROXY_GID} udp dport 53 redirect to :${port}`,
    `    meta skgid != ${PROXY_GID} tcp dport 53 redirect to :${port}`,
    '  }',
    '}',
    '',
  ].join('\n');
}
