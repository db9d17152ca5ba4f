import React, { useEffect, useState } from 'react';
import { dateTime, type DataFrame, type DataQueryResponse } from '@grafana/data';
import { config } from '@grafana/runtime';
import { datasourceSettings, setUser } from './app';

// A dashboard with many live panels: `count` panels each run a "Live events" query of the BUILT
// data source, and one Faultline experiments panel (BUILT panel) listens too. The data source
// shares one event stream among all of them; the test counts the connections at the server.

export interface LivePanelsOptions {
  uid: string;
  count: number;
  /** Also mount the experiments panel. */
  withPanel?: boolean;
}

function LivePanel({ ds, index }: { ds: any; index: number }) {
  const [rows, setRows] = useState(0);
  useEffect(() => {
    const to = dateTime();
    const sub = ds
      .query({ targets: [{ refId: 'A', queryType: 'live' }], range: { from: to, to, raw: { from: to, to } }, interval: '1s', intervalMs: 1000, maxDataPoints: 100, scopedVars: {}, requestId: `live-${index}`, timezone: 'utc', app: 'dashboard', startTime: Date.now() })
      .subscribe((r: DataQueryResponse) => setRows((r.data[0] as DataFrame | undefined)?.length ?? 0));
    return () => sub.unsubscribe();
  }, [ds, index]);
  return (
    <div data-testid={`live-panel-${index}`} data-rows={rows} style={{ border: '1px solid #444', padding: 4, fontSize: 12 }}>
      live {index}: {rows} events
    </div>
  );
}

export async function livePanels(opts: LivePanelsOptions): Promise<void> {
  const dsModule = await window.harness.loadPlugin('faultline-chaos-datasource');
  const settings = datasourceSettings(opts.uid);
  config.datasources = { Faultline: settings };
  setUser('Editor');
  // Grafana keeps one instance per data source uid.
  const ds = new dsModule.plugin.DataSourceClass(settings);
  const Panel = opts.withPanel ? (await window.harness.loadPlugin('faultline-chaos-panel')).plugin.panel : undefined;
  window.harness.mount(
    <div style={{ display: 'grid', gridTemplateColumns: 'repeat(5, 1fr)', gap: 4, padding: 8 }}>
      {Array.from({ length: opts.count }, (_, i) => (
        <LivePanel key={i} ds={ds} index={i} />
      ))}
      {Panel && (
        <div style={{ gridColumn: '1 / -1', height: 300 }} data-testid="experiments-panel">
          <Panel {...({ id: 99, options: { datasource: opts.uid }, width: 1000, height: 300, timeZone: 'utc', replaceVariables: (s: string) => s, data: { series: [] }, onOptionsChange: () => undefined } as any)} />
        </div>
      )}
    </div>,
  );
}

/** Unmounts everything (every subscription ends). */
export async function empty(): Promise<void> {
  window.harness.mount(<div data-testid="empty" />);
}
