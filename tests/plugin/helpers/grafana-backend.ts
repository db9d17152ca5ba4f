import { setBackendSrv, setTemplateSrv, type BackendSrv, type BackendSrvRequest, type FetchResponse, type TemplateSrv } from '@grafana/runtime';
import type { ScopedVars, TypedVariableModel } from '@grafana/data';
import { Observable } from 'rxjs';
import { decideProxy, loadRoutes, parseProxyUrl, type GrafanaRole, type ProxiedDataSource } from '../harness/grafana-proxy';

// Grafana's runtime services for jsdom tests: getBackendSrv().fetch and the global fetch (used by
// the SSE stream) go through the data source proxy emulation to a real exporter; a template
// service fills in dashboard variables like Grafana's does ($var, ${var}, ${var:csv}, multi-value, All).

export interface GrafanaStub {
  /** Change the signed-in user's role (proxy routes check it). */
  setRole(role: GrafanaRole): void;
  /** Requests made, for asserting what went over the wire. */
  requests: Array<{ method: string; url: string; status: number }>;
  /** fetch() calls through the proxy (the SSE stream): headers sent and whether the caller closed it. */
  streams: Array<{ url: string; headers: Record<string, string>; closed: boolean }>;
  /** Cuts every open stream from the proxy side, as Grafana's proxy timeout would. */
  cutStreams(): void;
}

async function proxied(ds: ProxiedDataSource, role: () => GrafanaRole, method: string, url: string, init: RequestInit, log: GrafanaStub['requests']): Promise<Response> {
  const parsed = parseProxyUrl(url);
  if (!parsed || parsed.uid !== ds.uid) return new Response(JSON.stringify({ message: `not found: ${url}` }), { status: 404 });
  const decision = decideProxy(loadRoutes(), ds, role(), method, parsed.proxyPath);
  if (!decision.forward) {
    log.push({ method, url, status: decision.status });
    return new Response(JSON.stringify(decision.body), { status: decision.status, headers: { 'content-type': 'application/json' } });
  }
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(decision.headers)) headers.set(k, v);
  try {
    const res = await fetch(decision.url, { ...init, method, headers });
    log.push({ method, url, status: res.status });
    return res;
  } catch (err) {
    if (init.signal?.aborted) throw err;
    // What Grafana's proxy answers when the target is down.
    log.push({ method, url, status: 502 });
    return new Response(JSON.stringify({ message: `Bad Gateway: ${(err as Error).cause ?? (err as Error).message}` }), { status: 502 });
  }
}

export function installGrafana(ds: ProxiedDataSource, initialRole: GrafanaRole = 'Editor', variables: Record<string, string | string[]> = {}): GrafanaStub {
  let role = initialRole;
  const upstreams = new Set<AbortController>();
  const stub: GrafanaStub = {
    setRole: (r) => (role = r),
    requests: [],
    streams: [],
    cutStreams: () => {
      for (const c of upstreams) c.abort();
      upstreams.clear();
    },
  };
  const nodeFetch = globalThis.fetch;

  // The SSE stream calls fetch() with the proxy path, as the browser would.
  globalThis.fetch = ((input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!parseProxyUrl(url)) return nodeFetch(input, init);
    const record = { url, headers: { ...(init.headers as Record<string, string>) }, closed: false };
    stub.streams.push(record);
    // The upstream request has its own controller so that cutStreams() can end it from the "proxy".
    const upstream = new AbortController();
    upstreams.add(upstream);
    init.signal?.addEventListener('abort', () => {
      record.closed = true;
      upstream.abort();
    });
    return proxied(ds, () => role, init.method ?? 'GET', url, { ...init, signal: upstream.signal }, stub.requests);
  }) as typeof fetch;

  const backendSrv = {
    fetch<T>(options: BackendSrvRequest): Observable<FetchResponse<T>> {
      return new Observable<FetchResponse<T>>((subscriber) => {
        const abort = new AbortController();
        const method = (options.method ?? 'GET').toUpperCase();
        const qs = options.params ? new URLSearchParams(options.params as Record<string, string>).toString() : '';
        const url = `${options.url}${qs ? `${options.url.includes('?') ? '&' : '?'}${qs}` : ''}`;
        const init: RequestInit = { signal: abort.signal, headers: { 'content-type': 'application/json', ...(options.headers ?? {}) } };
        if (options.data !== undefined) init.body = JSON.stringify(options.data);
        proxied(ds, () => role, method, url, init, stub.requests)
          .then(async (res) => {
            const text = await res.text();
            let data: unknown = text;
            try {
              data = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text, as backendSrv does
            }
            if (!res.ok) {
              subscriber.error({ status: res.status, statusText: res.statusText, data, config: options });
              return;
            }
            subscriber.next({ data: data as T, status: res.status, statusText: res.statusText, ok: true, headers: res.headers, redirected: false, type: 'basic', url, config: options });
            subscriber.complete();
          })
          .catch((err: unknown) => subscriber.error(err));
        return () => abort.abort();
      });
    },
  };
  setBackendSrv(backendSrv as unknown as BackendSrv);
  setTemplateSrv(templateSrv(variables));
  return stub;
}

/** Grafana's variable syntax over a fixed set of variables. */
export function templateSrv(variables: Record<string, string | string[]>): TemplateSrv {
  const format = (value: string | string[], fmt?: string | ((v: unknown) => string)): string => {
    if (typeof fmt === 'function') return fmt(value);
    const list = Array.isArray(value) ? value : [value];
    if (fmt === 'pipe') return list.join('|');
    if (fmt === 'csv' || !fmt) return list.length > 1 ? (fmt === 'csv' ? list.join(',') : `{${list.join(',')}}`) : list[0];
    return list.join(',');
  };
  return {
    getVariables: () => [] as TypedVariableModel[],
    containsTemplate: (t?: string) => Boolean(t && /\$\w+|\$\{\w+/.test(t)),
    updateTimeRange: () => undefined,
    replace(target?: string, scopedVars?: ScopedVars, fmt?: string | ((v: unknown) => string)): string {
      if (!target) return '';
      return target.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (whole, braced: string, braceFmt: string, plain: string) => {
        const name = braced ?? plain;
        const scoped = scopedVars?.[name]?.value as string | string[] | undefined;
        const value = scoped ?? variables[name];
        if (value === undefined) return whole;
        return format(value, braceFmt ?? fmt);
      });
    },
  } as unknown as TemplateSrv;
}
