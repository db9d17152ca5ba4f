/** @jest-environment ./tests/plugin/jsdom-with-fetch.cjs */
import React from 'react';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { config } from '@grafana/runtime';
import { getDefaultTimeRange, LoadingState, type PanelProps } from '@grafana/data';
import { ApiError } from '../../api/errors';
import { DataSource } from '../../src/datasource/datasource';
import { ExperimentPanel, FaultlineView, namespacesOption } from '../../src/panel/components/ExperimentPanel';
import { canAct } from '../../src/panel/roles';
import { DEFAULT_OPTIONS, type PanelOptions } from '../../src/panel/types';
import { installGrafana } from './helpers/grafana-backend';
import { instanceSettings } from './helpers/settings';
import { callsOf, experiment, recordingApi, type RecordingApi } from './panel-helpers';

// The panel's list, live updates, actions, kill switch and role gating with the real @grafana/ui;
// the wiring through the real Faultline DataSource and Grafana's proxy rules at the end.

jest.setTimeout(60_000);

function renderView(api: RecordingApi, props: Partial<React.ComponentProps<typeof FaultlineView>> = {}) {
  const onOptionsChange = jest.fn();
  const utils = render(
    <FaultlineView api={api} options={DEFAULT_OPTIONS} namespaces={[]} canAct width={1000} height={600} onOptionsChange={onOptionsChange} {...props} />,
  );
  return { ...utils, onOptionsChange };
}

const row = (key: string) => screen.getByTestId(`experiment-${key}`);

describe('experiment list', () => {
  test('shows phase, kind, targets with their state and time left', async () => {
    const ends = new Date(Date.now() + 125_000).toISOString();
    const api = recordingApi([
      experiment('pause-web', 'Running', { endsAt: ends }),
      experiment('old-drill', 'Finished', { endedAt: new Date(Date.now() - 3 * 60_000).toISOString() }),
      experiment('guarded', 'Aborted', { reason: 'guard alertname="HighErrorRate" fired' }, 'shop'),
    ]);
    renderView(api);
    const running = await screen.findByTestId('experiment-default/pause-web');
    expect(within(running).getByText('Running')).toBeInTheDocument();
    expect(within(running).getByText('process-pause')).toBeInTheDocument();
    expect(within(running).getByText('sleep (pid 4242)')).toBeInTheDocument();
    expect(within(running).getByText('Injected')).toBeInTheDocument();
    expect(within(running).getByText(/^2m[0-9]s left$/)).toBeInTheDocument();
    expect(within(row('default/old-drill')).getByText('Finished')).toBeInTheDocument();
    expect(within(row('default/old-drill')).getByText(/^ended 3 minutes ago$/)).toBeInTheDocument();
    expect(within(row('shop/guarded')).getByText('Aborted')).toBeInTheDocument();
    // Active first.
    const names = screen.getAllByTestId(/^experiment-/).map((r) => r.getAttribute('data-testid'));
    expect(names[0]).toBe('experiment-default/pause-web');
  });

  test('filters by namespace and hides ended experiments when asked', async () => {
    const api = recordingApi([experiment('a', 'Running'), experiment('b', 'Running', {}, 'shop'), experiment('c', 'Finished', {}, 'shop')]);
    renderView(api, { namespaces: ['shop'], options: { ...DEFAULT_OPTIONS, activeOnly: true } });
    await screen.findByTestId('experiment-shop/b');
    expect(screen.queryByTestId('experiment-default/a')).not.toBeInTheDocument();
    expect(screen.queryByTestId('experiment-shop/c')).not.toBeInTheDocument();
  });

  test('updates live from the event stream, without a refresh', async () => {
    const api = recordingApi([experiment('live-one', 'Pending')]);
    renderView(api);
    await screen.findByText('Pending');
    const listed = callsOf(api, 'listExperiments').length;
    api.experiments = [experiment('live-one', 'Running')];
    act(() => api.stream.next({ id: 7, time: new Date().toISOString(), type: 'running', experiment: 'live-one', namespace: 'default', message: 'all targets injected' }));
    expect(await screen.findByText('Running')).toBeInTheDocument();
    expect(callsOf(api, 'listExperiments').length).toBeGreaterThan(listed);
    // The event shows under the list.
    expect(screen.getByText('all targets injected')).toBeInTheDocument();
  });

  test('shows recent events at once, before the stream says anything', async () => {
    const api = recordingApi([experiment('old', 'Finished')]);
    api.past = [
      { id: 3, time: new Date().toISOString(), type: 'finished', experiment: 'old', namespace: 'default', message: 'finished: ran its duration' },
      { id: 2, time: new Date().toISOString(), type: 'injected', experiment: 'old', namespace: 'default', message: 'injected on pid 4242' },
    ];
    renderView(api, { options: { ...DEFAULT_OPTIONS, eventCount: 1 } });
    expect(await screen.findByText('finished: ran its duration')).toBeInTheDocument();
    // eventCount: only the newest.
    expect(screen.queryByText('injected on pid 4242')).not.toBeInTheDocument();
  });

  test('pause, resume and stop go to the data source; a refused stop is shown on its row', async () => {
    const user = userEvent.setup();
    const api = recordingApi([experiment('runner', 'Running'), experiment('held', 'Paused')]);
    renderView(api);
    const runner = await screen.findByTestId('experiment-default/runner');
    await user.click(within(runner).getByRole('button', { name: /^Pause/ }));
    await waitFor(() => expect(callsOf(api, 'pause')[0]?.args).toEqual(['default', 'runner']));
    await user.click(within(row('default/held')).getByRole('button', { name: /^Resume/ }));
    await waitFor(() => expect(callsOf(api, 'resume')[0]?.args).toEqual(['default', 'held']));

    api.failNext('stop', new ApiError(403, 'forbidden', 'token role viewer may not stop experiments'));
    await user.click(within(row('default/runner')).getByRole('button', { name: /^Stop/ }));
    const alert = await screen.findByRole('alert', { name: 'Not allowed' });
    expect(alert).toHaveTextContent('You are not allowed to stop default/runner');
    expect(alert).toHaveTextContent('token role viewer may not stop experiments');
  });

  test('delete asks first', async () => {
    const user = userEvent.setup();
    const api = recordingApi([experiment('done', 'Finished')]);
    renderView(api);
    await user.click(within(await screen.findByTestId('experiment-default/done')).getByRole('button', { name: /^Delete/ }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Delete experiment?');
    expect(callsOf(api, 'remove')).toHaveLength(0);
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(callsOf(api, 'remove')[0]?.args).toEqual(['default', 'done']));
  });
});

describe('stop all', () => {
  test('needs a confirmation', async () => {
    const user = userEvent.setup();
    const api = recordingApi([experiment('a', 'Running'), experiment('b', 'Paused')]);
    renderView(api);
    await screen.findByTestId('experiment-default/a');
    await user.click(screen.getByRole('button', { name: 'Stop all' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Stop all experiments?');
    expect(dialog).toHaveTextContent('2 experiments are active');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(callsOf(api, 'stopAll')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Stop all' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Stop all' }));
    await waitFor(() => expect(callsOf(api, 'stopAll')).toHaveLength(1));
  });

  test('is visible to Editors even when nothing runs', async () => {
    renderView(recordingApi([]));
    expect(await screen.findByText('No experiments yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Stop all' })).toBeInTheDocument();
  });
});

describe('role gating', () => {
  test('Viewers see everything read-only', async () => {
    const api = recordingApi([experiment('a', 'Running'), experiment('b', 'Finished')]);
    renderView(api, { canAct: false });
    await screen.findByTestId('experiment-default/a');
    expect(screen.getByText('View only')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Stop all' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Launch experiment' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^(Pause|Stop|Delete)/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('columnheader', { name: 'Actions' })).not.toBeInTheDocument();
  });

  test('Editors and Admins can act; the launch button follows the panel option', async () => {
    const api = recordingApi([experiment('a', 'Running')]);
    const { unmount } = renderView(api);
    expect(await screen.findByRole('button', { name: 'Launch experiment' })).toBeInTheDocument();
    unmount();
    renderView(api, { options: { ...DEFAULT_OPTIONS, showLaunch: false } });
    await screen.findByTestId('experiment-default/a');
    expect(screen.queryByRole('button', { name: 'Launch experiment' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Stop all' })).toBeInTheDocument();
  });

  test.each([
    ['Viewer', false, false],
    ['Editor', false, true],
    ['Admin', false, true],
    ['', false, false],
    ['Viewer', true, true],
  ] as const)('orgRole %p (server admin %p) may act: %p', (orgRole, isGrafanaAdmin, expected) => {
    config.bootData.user = { ...config.bootData.user, orgRole: orgRole as never, isGrafanaAdmin };
    expect(canAct()).toBe(expected);
  });
});

describe('through the real data source and Grafana proxy rules', () => {
  const uid = `panel-${process.pid}`;
  const settings = instanceSettings(uid);

  function panelProps(options: Partial<PanelOptions>): PanelProps<PanelOptions> {
    return {
      id: 1,
      data: { series: [], state: LoadingState.Done, timeRange: getDefaultTimeRange() },
      timeRange: getDefaultTimeRange(),
      timeZone: 'utc',
      options: { ...DEFAULT_OPTIONS, ...options },
      fieldConfig: { defaults: {}, overrides: [] },
      transparent: false,
      width: 1000,
      height: 600,
      renderCounter: 0,
      title: 'Chaos',
      eventBus: undefined as never,
      onOptionsChange: jest.fn(),
      onFieldConfigChange: jest.fn(),
      onChangeTimeRange: jest.fn(),
      replaceVariables: (s: string) => s.replace('$ds', uid),
    } as PanelProps<PanelOptions>;
  }

  test('an exporter that is down is reported as such', async () => {
    // Nothing listens on port 1: Grafana's proxy answers 502, as it would.
    installGrafana({ uid, url: 'http://127.0.0.1:1' });
    const ds = new DataSource(settings);
    config.datasources = { Faultline: settings };
    expect(ds.client.uid).toBe(uid);
    config.bootData.user = { ...config.bootData.user, orgRole: 'Editor' as never };
    render(<ExperimentPanel {...panelProps({ datasource: '$ds' })} />);
    const alert = await screen.findByRole('alert', { name: 'Cannot reach the Faultline exporter' }, { timeout: 20_000 });
    expect(alert).toHaveTextContent(/Check that it is running and that the data source URL is right/);
  });

  test("Grafana's proxy refusing a mutation (reqRole Editor) is shown where the user acted", async () => {
    const user = userEvent.setup();
    // The panel thinks the user is an Editor, but Grafana's proxy sees a Viewer: the server decides.
    installGrafana({ uid, url: 'http://127.0.0.1:1' }, 'Viewer');
    config.datasources = { Faultline: settings };
    config.bootData.user = { ...config.bootData.user, orgRole: 'Editor' as never, isGrafanaAdmin: false };
    render(<ExperimentPanel {...panelProps({ datasource: uid })} />);
    await user.click(await screen.findByRole('button', { name: 'Stop all' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Stop all' }));
    const alert = await screen.findByRole('alert', { name: 'Not allowed' }, { timeout: 20_000 });
    expect(alert).toHaveTextContent('You are not allowed to stop all experiments');
  });

  test.each([
    ['.*', []],
    ['shop,web', ['shop', 'web']],
    ['shop', ['shop']],
    ['$__all', []],
  ])('namespace variable %p filters on %p', (value, shown) => {
    const replace = ((s: string) => s.replace('$namespace', value)) as PanelProps['replaceVariables'];
    expect(namespacesOption('$namespace', replace)).toEqual(shown);
  });

  test('a panel pointed at a missing data source says what to do', async () => {
    config.datasources = { Faultline: settings };
    render(<ExperimentPanel {...panelProps({ datasource: 'nope' })} />);
    expect(await screen.findByRole('alert', { name: 'Data source not found' })).toHaveTextContent(/Pick a Faultline data source in the panel options/);
  });

  test('a data source that is not Faultline is refused by name', async () => {
    config.datasources = { Prometheus: { ...settings, uid: 'prometheus', name: 'Prometheus', type: 'prometheus' } };
    render(<ExperimentPanel {...panelProps({ datasource: 'prometheus' })} />);
    expect(await screen.findByRole('alert', { name: 'Not a Faultline data source' })).toBeInTheDocument();
  });
});
