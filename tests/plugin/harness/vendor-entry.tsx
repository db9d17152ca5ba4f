// The harness page's own bundle: the modules Grafana shares with plugins (registered for the AMD
// loader under the names plugins import), Grafana's runtime services wired to the harness server
// (which routes /api/datasources/proxy/... like Grafana's data source proxy), and the scenarios
// tests render. Built by buildHarness() in index.ts.
import React from 'react';
import * as ReactDOM from 'react-dom';
import * as jsxRuntime from 'react/jsx-runtime';
import * as jsxDevRuntime from 'react/jsx-dev-runtime';
import { createRoot, type Root } from 'react-dom/client';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import * as grafanaUi from '@grafana/ui';
import * as grafanaRuntime from '@grafana/runtime';
import { createTheme, type GrafanaTheme2 } from '@grafana/data';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import { config, setBackendSrv, setTemplateSrv, type BackendSrv, type BackendSrvRequest, type FetchResponse, type TemplateSrv } from '@grafana/runtime';
import { Observable } from 'rxjs';
import { scenarios } from './scenarios';

declare global {
  interface Window {
    amdRegister(name: string, exports: unknown): void;
    amdImport(url: string): Promise<any>;
    harness: Harness;
  }
}

const SHARED: Record<string, unknown> = {
  react: React,
  'react-dom': ReactDOM,
  // Shared by Grafana since 12.3 (and the patch releases in plugin.json's grafanaDependency).
  'react/jsx-runtime': jsxRuntime,
  'react/jsx-dev-runtime': jsxDevRuntime,
  rxjs,
  'rxjs/operators': rxjsOperators,
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
};
for (const [name, mod] of Object.entries(SHARED)) window.amdRegister(name, mod);

/** backendSrv.fetch over the browser's fetch, same origin: the harness server plays Grafana. */
const backendSrv = {
  fetch<T>(options: BackendSrvRequest): Observable<FetchResponse<T>> {
    return new Observable<FetchResponse<T>>((subscriber) => {
      const abort = new AbortController();
      const qs = options.params ? new URLSearchParams(options.params as Record<string, string>).toString() : '';
      const url = `${options.url}${qs ? `?${qs}` : ''}`;
      fetch(url, {
        method: options.method ?? 'GET',
        signal: abort.signal,
        headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
        body: options.data !== undefined ? JSON.stringify(options.data) : undefined,
      })
        .then(async (res) => {
          const text = await res.text();
          let data: unknown = text;
          try {
            data = text ? JSON.parse(text) : undefined;
          } catch {
            // keep text
          }
          if (!res.ok) return subscriber.error({ status: res.status, statusText: res.statusText, data, config: options });
          subscriber.next({ data: data as T, status: res.status, statusText: res.statusText, ok: true, headers: res.headers, redirected: false, type: 'basic', url, config: options });
          subscriber.complete();
        })
        .catch((err) => subscriber.error({ status: 0, statusText: String(err), data: { message: String(err) }, config: options }));
      return () => abort.abort();
    });
  },
};
setBackendSrv(backendSrv as unknown as BackendSrv);

const variables: Record<string, string | string[]> = {};
setTemplateSrv({
  getVariables: () => [],
  containsTemplate: (t?: string) => Boolean(t && t.includes('$')),
  updateTimeRange: () => undefined,
  replace(target?: string, _scoped?: unknown, fmt?: unknown) {
    if (!target) return '';
    return target.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, a: string, b: string) => {
      const v = variables[a ?? b];
      if (v === undefined) return whole;
      if (typeof fmt === 'function') return fmt(v);
      return Array.isArray(v) ? v.join(',') : v;
    });
  },
} as unknown as TemplateSrv);

export interface Harness {
  /** Loads a built plugin the way Grafana does (AMD, shared modules) and returns its exports. */
  loadPlugin(id: string): Promise<any>;
  /** Renders an element inside Grafana's theme and global styles; returns the root. */
  mount(element: React.ReactElement, mode?: 'dark' | 'light'): Root;
  theme(mode: 'dark' | 'light'): GrafanaTheme2;
  setVariables(vars: Record<string, string | string[]>): void;
  scenarios: typeof scenarios;
  modules: typeof SHARED;
}

let root: Root | undefined;
const container = () => document.getElementById('root')!;

/** Where Grafana serves each plugin's module: the nested ones from inside the app's folder. */
const MODULES: Record<string, string> = {
  'faultline-chaos-app': '/public/plugins/faultline-chaos-app/module.js',
  'faultline-chaos-datasource': '/public/plugins/faultline-chaos-app/datasource/module.js',
  'faultline-chaos-panel': '/public/plugins/faultline-chaos-app/panel/module.js',
};

window.harness = {
  loadPlugin: (id) => window.amdImport(MODULES[id] ?? `/public/plugins/${id}/module.js`),
  theme: (mode) => createTheme({ colors: { mode } }),
  mount(element, mode = 'dark') {
    const theme = createTheme({ colors: { mode } });
    config.theme2 = theme;
    (config as unknown as { bootData: { user: Record<string, unknown> } }).bootData.user = { ...config.bootData?.user, lightTheme: mode === 'light' };
    document.body.style.background = theme.colors.background.canvas;
    root?.unmount();
    root = createRoot(container());
    root.render(
      <ThemeContext.Provider value={theme}>
        <GlobalStyles />
        {element}
      </ThemeContext.Provider>,
    );
    return root;
  },
  setVariables(vars) {
    Object.assign(variables, vars);
  },
  scenarios,
  modules: SHARED,
};
