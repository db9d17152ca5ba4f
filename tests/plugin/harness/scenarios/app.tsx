import React, { useLayoutEffect, useState } from 'react';
import { Router } from 'react-router-dom-v5-compat';
import type { AppRootProps, DataSourceInstanceSettings } from '@grafana/data';
import { config, locationService } from '@grafana/runtime';

// The Faultline app page as Grafana mounts it: the BUILT dist/module.js's root page inside Grafana's
// router (locationService's history), at a path under /a/faultline-chaos-app/, with the Faultline
// data source in the boot config. Requests go through the harness proxy to a real exporter.

export interface AppPageOptions {
  uid: string;
  /** e.g. /a/faultline-chaos-app/experiments or .../report?namespace=default&name=x */
  path: string;
  mode?: 'dark' | 'light';
  role?: 'Viewer' | 'Editor' | 'Admin';
}

export function datasourceSettings(uid: string): DataSourceInstanceSettings {
  return {
    uid,
    id: 1,
    type: 'faultline-chaos-datasource',
    name: 'Faultline',
    url: `/api/datasources/proxy/uid/${uid}`,
    access: 'proxy',
    jsonData: {},
    meta: { id: 'faultline-chaos-datasource' },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings;
}

export function setUser(role: 'Viewer' | 'Editor' | 'Admin') {
  const bootData = config as unknown as { bootData: { user: Record<string, unknown> } };
  bootData.bootData.user = { ...bootData.bootData.user, orgRole: role, isGrafanaAdmin: false, login: 'harness', name: 'Harness' };
}

/** Grafana's router over locationService's history (links and locationService.push stay in step). */
function HistoryRouter({ children }: { children: React.ReactNode }) {
  const history = locationService.getHistory();
  const [location, setLocation] = useState(history.location);
  useLayoutEffect(() => history.listen((l: typeof location) => setLocation(l)), [history]);
  return (
    <Router location={location} navigator={history as never}>
      {children}
    </Router>
  );
}

export async function appPage(opts: AppPageOptions): Promise<void> {
  const app = await window.harness.loadPlugin('faultline-chaos-app');
  config.datasources = { Faultline: datasourceSettings(opts.uid) };
  setUser(opts.role ?? 'Editor');
  locationService.push(opts.path);
  const Root = app.plugin.root as React.ComponentType<AppRootProps>;
  const props = {
    meta: { id: 'faultline-chaos-app', name: 'Faultline', type: 'app', info: {}, enabled: true },
    basename: '/a/faultline-chaos-app',
    path: opts.path,
    query: {},
    onNavChanged: () => undefined,
  } as unknown as AppRootProps;
  window.harness.mount(
    <HistoryRouter>
      <div style={{ padding: 16 }} data-testid="app-page">
        <Root {...props} />
      </div>
    </HistoryRouter>,
    opts.mode ?? 'dark',
  );
}
