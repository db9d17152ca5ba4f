import { isIP } from 'node:net';

// `--listen host:port` parsing and the loopback rule (no token → loopback only).

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):([0-9]{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen "${text}" is not HOST:PORT (e.g. 127.0.0.1:9471, [::1]:9471, 0.0.0.0:9471)`);
  const host = m[1] ?? m[2];
  if (!isIP(host) && !/^[a-zA-Z0-9.-]{1,253}$/.test(host)) throw new Error(`--listen host "${host}" is not an address or host name`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

export function urlFor(scheme: 'http' | 'https', host: string, port: number): string {
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
