// Address checks the schema patterns cannot make (an octet over 255, a malformed IPv6, a port over
// 65535), pure so the exporter, the daemon and the panel's form (browser) all refuse alike.

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** IPv6 as the URL parser takes it inside brackets (the same in node and in browsers). */
export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Why `s` is not an IPv4/IPv6 address or CIDR; undefined when it is one. */
export function cidrProblem(s: string): string | undefined {
  const [addr, prefix, extra] = s.split('/');
  const max = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : 0;
  if (!max || extra !== undefined || (prefix !== undefined && !(/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max))) {
    return `"${s}" is not an IPv4/IPv6 address or CIDR`;
  }
  return undefined;
}

/**
 * Why "host:port" / "[v6]:port" cannot be used; undefined when it can. A dotted-number host must be a
 * real IPv4 address, a bracketed one a real IPv6 address; the port lies in minPort..65535.
 */
export function endpointProblem(text: string, minPort: number): string | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  if (!m) return 'must be host:port or [IPv6]:port';
  const [, v6, host, portText] = m;
  if (v6 !== undefined && !isIPv6(v6)) return `"${v6}" is not an IPv6 address`;
  if (host !== undefined && /^[0-9.]+$/.test(host) && !isIPv4(host)) return `"${host}" is not an IPv4 address`;
  const port = Number(portText);
  if (port < minPort || port > 65535) return `port must be ${minPort}..65535`;
  return undefined;
}
