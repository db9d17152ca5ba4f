/** @jest-environment ./tests/plugin/jsdom-with-fetch.cjs */
import React from 'react';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiError } from '../../api/errors';
import type { Workflow } from '../../api/workflow';
import { DataSource } from '../../src/datasource/datasource';
import { FaultlineView } from '../../src/panel/components/ExperimentPanel';
import { DEFAULT_OPTIONS } from '../../src/panel/types';
import { installGrafana, type GrafanaStub } from './helpers/grafana-backend';
import { instanceSettings } from './helpers/settings';
import { startTestExporter, type TestExporter } from './helpers/exporter';
import { callsOf, experiment, recordingApi, type RecordingApi } from './panel-helpers';

// The panel's Workflows section (list, steps, Abort with confirmation, role gating, live refresh)
// and the Freeze button / banner / Unfreeze, with the real @grafana/ui; then the freeze end to end
// through the real DataSource, Grafana's proxy rules and a real exporter.

jest.setTimeout(120_000);

function workflow(name: string, phase: Workflow['status']['phase'], steps: Workflow['status']['steps'], namespace = 'default'): Workflow {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Workflow',
    metadata: { name, namespace, uid: `wf-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { steps: [{ name: 'wait', suspend: { duration: '1m' } }] },
    status: { phase, steps },
  };
}

const twoSteps: Workflow['status']['steps'] = [
  { path: 'pause-web', type: 'experiment', phase: 'Succeeded', experiment: 'drill-pause-web' },
  { path: 'check-errors', type: 'check', phase: 'Running', message: 'waiting for the query to be non-empty' },
];

function renderView(api: RecordingApi, props: Partial<React.ComponentProps<typeof FaultlineView>> = {}) {
  return render(<FaultlineView api={api} options={DEFAULT_OPTIONS} namespaces={[]} canAct width={1000} height={600} {...props} />);
}

describe('workflows section', () => {
  test('is hidden when there are no workflows', async () => {
    const api = recordingApi([experiment('a', 'Running')]);
    renderView(api);
    await screen.findByTestId('experiment-default/a');
    await waitFor(() => expect(callsOf(api, 'listWorkflows').length).toBeGreaterThan(0));
    expect(screen.queryByRole('region', { name: 'Workflows' })).not.toBeInTheDocument();
  });

  test('shows name, phase, steps done/total and per-step rows on demand', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.workflows = [workflow('drill', 'Running', twoSteps), workflow('done', 'Succeeded', [{ path: 'a', type: 'suspend', phase: 'Succeeded' }], 'shop')];
    renderView(api);
    const row = await screen.findByTestId('workflow-default/drill');
    expect(within(row).getByText('Running')).toBeInTheDocument();
    expect(within(row).getByText('1/2 steps')).toBeInTheDocument();
    expect(within(screen.getByTestId('workflow-shop/done')).getByText('Succeeded')).toBeInTheDocument();
    expect(within(screen.getByTestId('workflow-shop/done')).getByText('1/1 steps')).toBeInTheDocument();
    expect(screen.queryByTestId('workflow-step-default/drill/check-errors')).not.toBeInTheDocument();
    await user.click(within(row).getByRole('button', { name: 'Show steps of default/drill' }));
    const step = screen.getByTestId('workflow-step-default/drill/check-errors');
    expect(within(step).getByText('check')).toBeInTheDocument();
    expect(within(step).getByText('waiting for the query to be non-empty')).toBeInTheDocument();
    expect(within(screen.getByTestId('workflow-step-default/drill/pause-web')).getByText('drill-pause-web')).toBeInTheDocument();
  });

  test('follows the namespace filter', async () => {
    const api = recordingApi();
    api.workflows = [workflow('a', 'Running', twoSteps), workflow('b', 'Running', twoSteps, 'shop')];
    renderView(api, { namespaces: ['shop'] });
    await screen.findByTestId('workflow-shop/b');
    expect(screen.queryByTestId('workflow-default/a')).not.toBeInTheDocument();
  });

  test('Editors abort after confirming; the abort goes to the right workflow', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.workflows = [workflow('drill', 'Running', twoSteps, 'shop')];
    renderView(api);
    const row = await screen.findByTestId('workflow-shop/drill');
    await user.click(within(row).getByRole('button', { name: 'Abort' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Abort workflow shop/drill?');
    // Dismissing sends nothing.
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(callsOf(api, 'abortWorkflow')).toHaveLength(0);
    await user.click(within(row).getByRole('button', { name: 'Abort' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Abort workflow' }));
    await waitFor(() => expect(callsOf(api, 'abortWorkflow')).toHaveLength(1));
    expect(callsOf(api, 'abortWorkflow')[0].args).toEqual(['shop', 'drill']);
  });

  test('an abort refused (403) is shown on that workflow', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.workflows = [workflow('drill', 'Running', twoSteps)];
    api.failNext('abortWorkflow', new ApiError(403, 'forbidden', 'role viewer may not POST /api/v1/workflows/default/drill/abort'));
    renderView(api);
    const row = await screen.findByTestId('workflow-default/drill');
    await user.click(within(row).getByRole('button', { name: 'Abort' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Abort workflow' }));
    const alert = await within(row).findByRole('alert');
    expect(alert).toHaveTextContent(/abort workflow default\/drill/);
  });

  test('Viewers see workflows read-only; ended workflows offer no Abort', async () => {
    const api = recordingApi();
    api.workflows = [workflow('drill', 'Running', twoSteps), workflow('old', 'Failed', twoSteps)];
    renderView(api, { canAct: false });
    await screen.findByTestId('workflow-default/drill');
    expect(screen.queryByRole('button', { name: 'Abort' })).not.toBeInTheDocument();
    const api2 = recordingApi();
    api2.workflows = [workflow('old2', 'Failed', twoSteps)];
    renderView(api2);
    const old = await screen.findByTestId('workflow-default/old2');
    expect(within(old).queryByRole('button', { name: 'Abort' })).not.toBeInTheDocument();
  });

  test('refreshes on live events of kind "workflow"', async () => {
    const api = recordingApi();
    api.workflows = [workflow('drill', 'Running', twoSteps)];
    renderView(api);
    await screen.findByText('1/2 steps');
    const before = callsOf(api, 'listWorkflows').length;
    api.workflows = [workflow('drill', 'Succeeded', twoSteps.map((s) => ({ ...s, phase: 'Succeeded' as const })))];
    act(() => api.stream.next({ id: 11, time: new Date().toISOString(), type: 'workflow-succeeded', kind: 'workflow', namespace: 'default', message: 'all steps passed' }));
    expect(await screen.findByText('2/2 steps')).toBeInTheDocument();
    expect(callsOf(api, 'listWorkflows').length).toBeGreaterThan(before);
  });
});

describe('freeze', () => {
  test('Editors freeze with a reason; the body sent is {reason}', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    renderView(api);
    await user.click(await screen.findByRole('button', { name: 'Freeze' }));
    const dialog = await screen.findByRole('dialog');
    const confirm = within(dialog).getByRole('button', { name: 'Freeze chaos' });
    // No reason, no freeze.
    expect(confirm).toBeDisabled();
    await user.type(within(dialog).getByLabelText('Freeze reason'), '  release 4.2 in progress ');
    api.freezeStatus = { frozen: true, reason: 'release 4.2 in progress', actor: 'grafana:alice', since: new Date().toISOString() };
    await user.click(confirm);
    await waitFor(() => expect(callsOf(api, 'freeze')).toHaveLength(1));
    expect(callsOf(api, 'freeze')[0].args).toEqual([{ reason: 'release 4.2 in progress' }]);
    expect(await screen.findByText('Chaos frozen by grafana:alice: release 4.2 in progress')).toBeInTheDocument();
    // Already frozen: no second Freeze; an Editor cannot unfreeze.
    expect(screen.queryByRole('button', { name: 'Freeze' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Unfreeze' })).not.toBeInTheDocument();
  });

  test('Viewers see the banner but no Freeze or Unfreeze', async () => {
    const api = recordingApi();
    api.freezeStatus = { frozen: true, reason: 'game day over', actor: 'bob' };
    renderView(api, { canAct: false });
    expect(await screen.findByText('Chaos frozen by bob: game day over')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Freeze' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Unfreeze' })).not.toBeInTheDocument();
  });

  test('Admins unfreeze; a refusal is shown in the banner', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.freezeStatus = { frozen: true, reason: 'incident', actor: 'carol' };
    renderView(api, { isAdmin: true });
    await screen.findByText('Chaos frozen by carol: incident');
    api.failNext('unfreeze', new ApiError(403, 'forbidden', 'admin role required'));
    await user.click(screen.getByRole('button', { name: 'Unfreeze' }));
    expect(await screen.findByRole('alert', { name: 'Not allowed' })).toHaveTextContent(/unfreeze chaos/);
    api.freezeStatus = { frozen: false };
    await user.click(screen.getByRole('button', { name: 'Unfreeze' }));
    await waitFor(() => expect(screen.queryByText('Chaos frozen by carol: incident')).not.toBeInTheDocument());
    expect(callsOf(api, 'unfreeze')).toHaveLength(2);
    expect(await screen.findByRole('button', { name: 'Freeze' })).toBeInTheDocument();
  });

  test('a refused freeze (403) is shown under the toolbar', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.failNext('freeze', new ApiError(403, 'forbidden', 'operator role required'));
    renderView(api);
    await user.click(await screen.findByRole('button', { name: 'Freeze' }));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText('Freeze reason'), 'why not');
    await user.click(within(dialog).getByRole('button', { name: 'Freeze chaos' }));
    expect(await screen.findByRole('alert', { name: 'Not allowed' })).toHaveTextContent(/freeze chaos/);
    expect(screen.queryByText(/Chaos frozen by/)).not.toBeInTheDocument();
  });

  test('a frozen/unfrozen live event refreshes the banner', async () => {
    const api = recordingApi();
    renderView(api);
    await screen.findByRole('button', { name: 'Freeze' });
    api.freezeStatus = { frozen: true, reason: 'from the CLI', actor: 'dave' };
    act(() => api.stream.next({ id: 21, time: new Date().toISOString(), type: 'frozen', message: 'chaos frozen by dave: from the CLI' }));
    expect(await screen.findByText('Chaos frozen by dave: from the CLI')).toBeInTheDocument();
  });
});

describe('through the real data source, proxy and exporter', () => {
  const uid = `fl-wf-${process.pid}`;
  let exporter: TestExporter;
  let grafana: GrafanaStub;
  const settings = instanceSettings(uid);

  beforeAll(async () => {
    exporter = await startTestExporter();
    grafana = installGrafana({ uid, url: exporter.url }, 'Editor');
  });
  afterAll(async () => {
    await exporter?.stop();
  });

  test('freeze, banner, workflows call and unfreeze against the exporter', async () => {
    const user = userEvent.setup();
    const api = new DataSource(settings).client;
    expect(await api.listWorkflows()).toEqual([]);
    const view = render(<FaultlineView api={api} options={DEFAULT_OPTIONS} namespaces={[]} canAct width={1000} height={600} />);
    await user.click(await screen.findByRole('button', { name: 'Freeze' }));
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText('Freeze reason'), `panel test ${process.pid}`);
    await user.click(within(dialog).getByRole('button', { name: 'Freeze chaos' }));
    expect(await screen.findByText(new RegExp(`^Chaos frozen by .+: panel test ${process.pid}$`), {}, { timeout: 20_000 })).toBeInTheDocument();
    const state = await exporter.api('GET', '/api/v1/freeze');
    expect(state.body).toMatchObject({ frozen: true, reason: `panel test ${process.pid}` });
    expect(grafana.requests.some((r) => r.method === 'POST' && r.url.endsWith('/api/v1/freeze') && r.status === 200)).toBe(true);
    view.unmount();

    grafana.setRole('Admin');
    render(<FaultlineView api={api} options={DEFAULT_OPTIONS} namespaces={[]} canAct isAdmin width={1000} height={600} />);
    await user.click(await screen.findByRole('button', { name: 'Unfreeze' }, { timeout: 20_000 }));
    await waitFor(async () => expect((await exporter.api('GET', '/api/v1/freeze')).body).toMatchObject({ frozen: false }), { timeout: 20_000 });
    expect(await screen.findByRole('button', { name: 'Freeze' }, { timeout: 20_000 })).toBeInTheDocument();
  });

  test("a Viewer in Grafana is refused by the proxy: the 403 shows under the toolbar, nothing frozen", async () => {
    const user = userEvent.setup();
    grafana.setRole('Viewer');
    try {
      const api = new DataSource(settings).client;
      render(<FaultlineView api={api} options={DEFAULT_OPTIONS} namespaces={[]} canAct width={1000} height={600} />);
      await user.click(await screen.findByRole('button', { name: 'Freeze' }));
      const dialog = await screen.findByRole('dialog');
      await user.type(within(dialog).getByLabelText('Freeze reason'), 'crafted');
      await user.click(within(dialog).getByRole('button', { name: 'Freeze chaos' }));
      expect(await screen.findByRole('alert', { name: 'Not allowed' }, { timeout: 20_000 })).toHaveTextContent(/freeze chaos/);
      expect((await exporter.api('GET', '/api/v1/freeze')).body).toMatchObject({ frozen: false });
    } finally {
      grafana.setRole('Editor');
    }
  });

  test('a running workflow is listed and aborted through the proxy', async () => {
    const user = userEvent.setup();
    const name = `wf-panel-${process.pid}`;
    const created = await exporter.api('POST', '/api/v1/workflows', {
      kind: 'Workflow',
      metadata: { name, namespace: 'default' },
      spec: { steps: [{ name: 'hold', suspend: { duration: '10m' } }] },
    });
    expect(created.status).toBeLessThan(300);
    const api = new DataSource(settings).client;
    render(<FaultlineView api={api} options={DEFAULT_OPTIONS} namespaces={[]} canAct width={1000} height={600} />);
    const row = await screen.findByTestId(`workflow-default/${name}`, {}, { timeout: 20_000 });
    await waitFor(() => expect(within(row).getByText('Running')).toBeInTheDocument(), { timeout: 20_000 });
    await user.click(within(row).getByRole('button', { name: 'Abort' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Abort workflow' }));
    await waitFor(async () => expect((await exporter.api('GET', `/api/v1/workflows/default/${name}`)).body).toMatchObject({ status: { phase: 'Aborted' } }), {
      timeout: 20_000,
    });
    await waitFor(() => expect(within(screen.getByTestId(`workflow-default/${name}`)).getByText('Aborted')).toBeInTheDocument(), { timeout: 20_000 });
    expect(grafana.requests.some((r) => r.method === 'POST' && r.url.endsWith(`/api/v1/workflows/default/${name}/abort`) && r.status < 300)).toBe(true);
    await exporter.api('DELETE', `/api/v1/workflows/default/${name}`);
  });
});
