import { readFileSync } from 'node:fs';
import path from 'node:path';

// What Grafana's data source proxy does with a plugin's routes (pkg/api/pluginproxy), so tests and
// the browser harness send requests exactly as Grafana would:
// - the first route whose method (empty or "*" = any) and path prefix match wins;
// - a matched route whose reqRole the user lacks is refused with 403, nothing is forwarded;
// - the target is the data source URL + the proxy path (routes without `url`), with the route's
//   headers, `{{ .SecureJsonData.x }}` / `{{ .JsonData.x }}` filled in;
// - unmatched paths go to the data source URL without the route headers.
// This is the plumbing between the plugin and a real exporter, not a stand-in for the exporter.

export type GrafanaRole = 'Viewer' | 'Editor' | 'Admin';

export interface PluginRoute {
  path: string;
  method?: string;
  reqRole?: GrafanaRole;
  url?: string;
  headers?: Array<{ name: string; content: string }>;
}

export interface ProxiedDataSource {
  uid: string;
  /** The exporter URL (the data source's URL setting). */
  url: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

export type ProxyDecision =
  | { forward: true; url: string; headers: Record<string, string>; route?: PluginRoute }
  | { forward: false; status: number; body: { message: string } };

const ROLE_RANK: Record<GrafanaRole, number> = { Viewer: 1, Editor: 2, Admin: 3 };

export const PROXY_PREFIX = '/api/datasources/proxy/uid/';

/** The nested data source's routes (src/datasource/plugin.json, as the app ships it). */
export function loadRoutes(pluginJsonPath = path.resolve(__dirname, '../../../src/datasource/plugin.json')): PluginRoute[] {
  return (JSON.parse(readFileSync(pluginJsonPath, 'utf8')) as { routes?: PluginRoute[] }).routes ?? [];
}

function interpolate(text: string, ds: ProxiedDataSource): string {
  return text
    .replace(/\{\{\s*\.SecureJsonData\.(\w+)\s*\}\}/g, (_m, k: string) => ds.secureJsonData?.[k] ?? '')
    .replace(/\{\{\s*\.JsonData\.(\w+)\s*\}\}/g, (_m, k: string) => String(ds.jsonData?.[k] ?? ''));
}

/** `proxyPath` is what follows /api/datasources/proxy/uid/<uid>/ (may carry a query string). */
export function decideProxy(routes: PluginRoute[], ds: ProxiedDataSource, role: GrafanaRole, method: string, proxyPath: string): ProxyDecision {
  const clean = proxyPath.replace(/^\/+/, '');
  const pathOnly = clean.split('?')[0];
  const base = ds.url.replace(/\/+$/, '');
  for (const route of routes) {
    if (route.method && route.method !== '*' && route.method.toUpperCase() !== method.toUpperCase()) continue;
    if (!pathOnly.startsWith(route.path.replace(/^\/+/, ''))) continue;
    if (route.reqRole && ROLE_RANK[role] < ROLE_RANK[route.reqRole]) {
      return { forward: false, status: 403, body: { message: 'plugin proxy route access denied' } };
    }
    const headers: Record<string, string> = {};
    for (const h of route.headers ?? []) headers[h.name] = interpolate(h.content, ds);
    const target = route.url ? `${interpolate(route.url, ds).replace(/\/+$/, '')}/${clean.slice(route.path.length).replace(/^\/+/, '')}` : `${base}/${clean}`;
    return { forward: true, url: target, headers, route };
  }
  return { forward: true, url: `${base}/${clean}`, headers: {} };
}

/** Splits `/api/datasources/proxy/uid/<uid>/<rest>` (leading slash optional); undefined if not a proxy URL. */
export function parseProxyUrl(url: string): { uid: string; proxyPath: string } | undefined {
  const pathname = url.replace(/^https?:\/\/[^/]+/, '');
  const withSlash = pathname.startsWith('/') ? pathname : `/${pathname}`;
  if (!withSlash.startsWith(PROXY_PREFIX)) return undefined;
  const rest = withSlash.slice(PROXY_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { uid: rest, proxyPath: '' };
  return { uid: rest.slice(0, slash), proxyPath: rest.slice(slash + 1) };
}
