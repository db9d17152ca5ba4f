import React, { useState } from 'react';
import { css } from '@emotion/css';
import { getDefaultTimeRange, LoadingState, type DataSourceInstanceSettings, type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { config } from '@grafana/runtime';
import { useStyles2 } from '@grafana/ui';

// The experiment panel as it sits on a dashboard: the BUILT dist/panel/module.js renders inside a
// panel frame and finds the Faultline data source in Grafana's boot config (config.datasources);
// its requests go through the harness server's proxy emulation to a real exporter.

export interface PanelPageOptions {
  uid: string;
  mode?: 'dark' | 'light';
  /** The signed-in user's org role, as Grafana's bootData has it. */
  role?: 'Viewer' | 'Editor' | 'Admin';
  /** Panel options (merged over the plugin's defaults by the panel). */
  options?: Record<string, unknown>;
  width?: number;
  height?: number;
  title?: string;
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ padding: theme.spacing(2) }),
  panel: css({
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    display: 'flex',
    flexDirection: 'column',
  }),
  header: css({ height: 32, display: 'flex', alignItems: 'center', padding: theme.spacing(0, 1), ...theme.typography.h6, margin: 0 }),
  body: css({ padding: theme.spacing(0, 1, 1, 1) }),
});

function PanelFrame({ Panel, opts }: { Panel: React.ComponentType<PanelProps>; opts: PanelPageOptions }) {
  const s = useStyles2(getStyles);
  const width = opts.width ?? 1100;
  const height = opts.height ?? 520;
  const [options, setOptions] = useState<Record<string, unknown>>(opts.options ?? {});
  const timeRange = getDefaultTimeRange();
  const props = {
    id: 1,
    data: { series: [], state: LoadingState.Done, timeRange },
    timeRange,
    timeZone: 'utc',
    options,
    fieldConfig: { defaults: {}, overrides: [] },
    transparent: false,
    width: width - 18,
    height: height - 32 - 10,
    renderCounter: 0,
    title: opts.title ?? 'Chaos experiments',
    eventBus: undefined,
    onOptionsChange: setOptions,
    onFieldConfigChange: () => undefined,
    onChangeTimeRange: () => undefined,
    replaceVariables: (s: string) => s,
  } as unknown as PanelProps;
  return (
    <div className={s.page}>
      <section className={s.panel} style={{ width, height }} data-testid="panel-frame">
        <h2 className={s.header}>{props.title}</h2>
        <div className={s.body}>
          <Panel {...props} />
        </div>
      </section>
    </div>
  );
}

export async function panelPage(opts: PanelPageOptions): Promise<void> {
  const dsModule = await window.harness.loadPlugin('faultline-chaos-datasource');
  const panelModule = await window.harness.loadPlugin('faultline-chaos-panel');
  const settings = {
    uid: opts.uid,
    id: 1,
    type: 'faultline-chaos-datasource',
    name: 'Faultline',
    url: `/api/datasources/proxy/uid/${opts.uid}`,
    access: 'proxy',
    jsonData: {},
    meta: dsModule.plugin.meta ?? { id: 'faultline-chaos-datasource' },
    readOnly: false,
  } as unknown as DataSourceInstanceSettings;
  config.datasources = { Faultline: settings };
  const bootData = config as unknown as { bootData: { user: Record<string, unknown> } };
  bootData.bootData.user = { ...bootData.bootData.user, orgRole: opts.role ?? 'Editor', isGrafanaAdmin: false, login: 'harness', name: 'Harness' };
  window.harness.mount(<PanelFrame Panel={panelModule.plugin.panel} opts={opts} />, opts.mode ?? 'dark');
}
