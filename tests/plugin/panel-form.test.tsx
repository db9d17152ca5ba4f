import React from 'react';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { KIND_SPECS } from '../../api/kinds';
import { ApiError } from '../../api/errors';
import { LaunchForm } from '../../src/panel/components/LaunchForm';
import { labelOf } from '../../src/panel/form';
import type { JsonSchema, LaunchTemplate } from '../../src/panel/types';
import { callsOf, recordingApi, type RecordingApi } from './panel-helpers';
import { chooseOption, comboboxOptions, useComboboxLayout } from './helpers/combobox';

// The launch form with the real @grafana/ui: generated from every kind's schema, blocking what the
// exporter would refuse (same schemas, same validator), sending the body the exporter expects, and
// showing the exporter's field errors on the field they name.

jest.setTimeout(60_000);
useComboboxLayout();

function renderForm(api: RecordingApi, props: Partial<React.ComponentProps<typeof LaunchForm>> = {}) {
  const launched = jest.fn();
  const saved: LaunchTemplate[] = [];
  const utils = render(
    <LaunchForm
      api={api}
      namespace="shop"
      templates={[]}
      canSaveTemplates
      onSaveTemplate={(t) => saved.push(t)}
      onDeleteTemplate={() => undefined}
      onLaunched={launched}
      onCancel={() => undefined}
      {...props}
    />,
  );
  return { ...utils, launched, saved };
}

const chooseKind = (user: ReturnType<typeof userEvent.setup>, title: string) => chooseOption(user, 'Fault kind', title);

/** The <label> (or <legend>, for radio groups) whose text is `text` (Grafana appends " *" to required fields). */
const labelled = (text: string) =>
  screen.getByText((_content, el) => (el?.tagName === 'LABEL' || el?.tagName === 'LEGEND') && (el.firstElementChild?.textContent ?? '').replace(/\s*\*$/, '').trim() === text);
const byId = (id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
};
const field = (label: string | RegExp) => screen.getByRole('textbox', { name: label });
const numberField = (label: string | RegExp) => screen.getByRole('spinbutton', { name: label });

describe('launch form', () => {
  test.each(KIND_SPECS.map((k) => [k.kind, k] as const))('renders the schema of %s', async (_kind, spec) => {
    const user = userEvent.setup();
    renderForm(recordingApi());
    await chooseKind(user, spec.title);
    expect(screen.getByText(spec.description)).toBeInTheDocument();
    const props = Object.entries((spec.params as unknown as JsonSchema).properties ?? {});
    if (props.length === 0) expect(screen.getByText('This fault has no parameters.')).toBeInTheDocument();
    for (const [name, prop] of props) {
      // Every param has a labelled control, prefilled with its default.
      expect(labelled(labelOf(name, prop))).toBeInTheDocument();
      if (prop.default !== undefined && (prop.type === 'integer' || prop.type === 'number')) {
        expect(numberField(new RegExp(`^${labelOf(name, prop)}`))).toHaveValue(Number(prop.default));
      }
    }
    // Kinds the host cannot run say why.
    if (spec.requires.includes('netem')) expect(screen.getByText(/sch_netem is missing/)).toBeInTheDocument();
  });

  test('blocks values the schema refuses and names the field', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    renderForm(api);
    await chooseKind(user, 'Network loss');
    await user.type(numberField(/^Percent/), '150');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    expect(await screen.findByText('must be <= 100')).toBeInTheDocument();
    expect(screen.getByRole('alert', { name: 'Some fields need attention' })).toBeInTheDocument();
    expect(callsOf(api, 'createExperiment')).toHaveLength(0);

    // A bad duration and a bad name are named on their fields too.
    await user.clear(byId('faultline-duration'));
    await user.type(byId('faultline-duration'), 'soon');
    await user.clear(byId('faultline-name'));
    await user.type(byId('faultline-name'), 'Bad Name!');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    expect(await screen.findByText('must be a duration such as 500ms, 30s, 5m or 1h30m')).toBeInTheDocument();
    expect(screen.getByText('must be: lowercase letters, digits and dashes, at most 63')).toBeInTheDocument();
    expect(callsOf(api, 'createExperiment')).toHaveLength(0);

    // Fixing them lets it through.
    await user.clear(numberField(/^Percent/));
    await user.type(numberField(/^Percent/), '30');
    await user.clear(byId('faultline-duration'));
    await user.type(byId('faultline-duration'), '45s');
    await user.clear(byId('faultline-name'));
    await user.type(byId('faultline-name'), 'loss-drill');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    await waitFor(() => expect(callsOf(api, 'createExperiment')).toHaveLength(1));
  });

  test('a process fault needs a target', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    renderForm(api);
    await chooseKind(user, 'Process pause');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    expect(await screen.findByText(/pick at least one target/)).toBeInTheDocument();
    expect(callsOf(api, 'createExperiment')).toHaveLength(0);
  });

  test('sends the body the exporter expects', async () => {
    const user = userEvent.setup();
    const api = recordingApi([], [{ daemon: 'node-a', pid: 4242, processName: 'sleep', description: 'sleep 600 (pid 4242)' }]);
    const { launched } = renderForm(api);
    await chooseKind(user, 'Process pause');
    // A discovered target fills the PIDs and hosts fields.
    await chooseOption(user, 'Add a discovered target', 'sleep 600 (pid 4242)');
    // The picker adds and starts empty again: what it added stands in the fields.
    expect(screen.getByRole('combobox', { name: /^Add a discovered target/ })).toHaveValue('');
    expect(byId('faultline-pids')).toHaveValue('4242');
    expect(byId('faultline-daemons')).toHaveValue('node-a');
    await user.clear(byId('faultline-duration'));
    await user.type(byId('faultline-duration'), '30s');
    await user.clear(byId('faultline-name'));
    await user.type(byId('faultline-name'), 'pause-sleep');
    await user.click(screen.getByRole('button', { name: 'Add alert matcher' }));
    await user.type(screen.getByLabelText('Alert matcher 1'), 'alertname="HighErrorRate"');
    await user.click(screen.getByRole('button', { name: 'Add PromQL guard' }));
    await user.type(screen.getByLabelText('PromQL guard 1'), 'up == 0');
    await user.type(screen.getByLabelText('PromQL guard 1 for'), '10s');
    await user.click(screen.getByRole('button', { name: 'Launch' }));

    await waitFor(() => expect(callsOf(api, 'createExperiment')).toHaveLength(1));
    expect(callsOf(api, 'createExperiment')[0].args[0]).toEqual({
      metadata: { name: 'pause-sleep', namespace: 'shop' },
      spec: {
        fault: { kind: 'process-pause', params: {} },
        duration: '30s',
        targets: { selector: { pids: [4242], daemons: ['node-a'] }, mode: 'all' },
        guards: { alerts: ['alertname="HighErrorRate"'], promql: [{ expr: 'up == 0', for: '10s' }] },
      },
    });
    await waitFor(() => expect(launched).toHaveBeenCalled());
  });

  test('typed params are sent with their schema types (numbers, lists, choices)', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    renderForm(api);
    await chooseKind(user, 'Network loss');
    await user.type(numberField(/^Percent/), '12.5');
    await user.type(field(/^Peers/), '10.0.0.0/8, 192.168.1.1');
    await user.type(field(/^Ports/), '80,443');
    await user.click(screen.getByRole('radio', { name: 'egress' }));
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    await waitFor(() => expect(callsOf(api, 'createExperiment')).toHaveLength(1));
    const body = callsOf(api, 'createExperiment')[0].args[0] as { spec: { fault: { params: unknown }; targets?: unknown } };
    expect(body.spec.fault.params).toEqual({ percent: 12.5, direction: 'egress', peers: ['10.0.0.0/8', '192.168.1.1'], ports: [80, 443], protocol: 'all' });
    expect(body.spec.targets).toBeUndefined();
  });

  test('a choice of more than four values is a Combobox, and the picked one is sent', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    renderForm(api);
    await chooseKind(user, 'Process kill');
    // The default is shown in the field; the list offers every signal.
    const signal = screen.getByRole('combobox', { name: /^Signal/ });
    expect(signal).toHaveValue('SIGKILL');
    await user.click(signal);
    expect((await comboboxOptions()).map((o) => o.textContent)).toEqual(expect.arrayContaining(['SIGKILL', 'SIGTERM']));
    await user.keyboard('{Escape}');
    await chooseOption(user, 'Signal', 'SIGTERM');
    expect(signal).toHaveValue('SIGTERM');
    await user.type(byId('faultline-process-name'), '^sleep$');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    await waitFor(() => expect(callsOf(api, 'createExperiment')).toHaveLength(1));
    const body = callsOf(api, 'createExperiment')[0].args[0] as { spec: { fault: { params: Record<string, unknown> } } };
    expect(body.spec.fault.params.signal).toBe('SIGTERM');
  });

  test("shows the exporter's field errors on the field they name", async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    // What the data source throws for a 400 from the exporter.
    api.failNext(
      'createExperiment',
      new ApiError(400, 'invalid_input', 'invalid experiment: /spec/fault/params/percent must be <= 50 on this host', [
        { field: '/spec/fault/params/percent', reason: 'must be <= 50 on this host' },
        { field: '/spec/schedule', reason: 'is not a valid cron expression' },
      ]),
    );
    renderForm(api);
    await chooseKind(user, 'Network corrupt');
    await user.type(numberField(/^Percent/), '70');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    const reason = await screen.findByText('must be <= 50 on this host');
    // Inline: inside the same field as the percent input.
    const percentInput = numberField(/^Percent/);
    expect(percentInput).toHaveAttribute('aria-invalid', 'true');
    // Inline means in the same Field: the smallest element holding both the message and the input
    // holds no other input (a form-level alert would share only the whole form with it).
    let box: HTMLElement | null = reason.parentElement;
    while (box && !box.contains(percentInput)) box = box.parentElement;
    expect(box).not.toBeNull();
    expect(box!.querySelectorAll('input')).toHaveLength(1);
    // Errors no field shows are listed in the form's alert.
    expect(within(screen.getByRole('alert', { name: 'Some fields need attention' })).getByText(/\/spec\/schedule is not a valid cron expression/)).toBeInTheDocument();
    // Editing clears the exporter's verdict.
    await user.type(percentInput, '1');
    expect(screen.queryByText('must be <= 50 on this host')).not.toBeInTheDocument();
  });

  test('says so when the exporter cannot be reached', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.failNext('createExperiment', ApiError.foreign(502, 'bad_gateway', 'Bad Gateway: connect ECONNREFUSED 127.0.0.1:9470'));
    renderForm(api);
    await chooseKind(user, 'Process kill');
    await user.type(byId('faultline-process-name'), '^sleep$');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    const alert = await screen.findByRole('alert', { name: 'Cannot reach the Faultline exporter' });
    expect(alert).toHaveTextContent(/Check that it is running/);
  });

  test('says so when the server forbids it', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    api.failNext('createExperiment', new ApiError(403, 'forbidden', 'Access denied: this route requires the Editor role'));
    renderForm(api);
    await chooseKind(user, 'CPU stress');
    await user.click(screen.getByRole('button', { name: 'Launch' }));
    const alert = await screen.findByRole('alert', { name: 'Not allowed' });
    expect(alert).toHaveTextContent(/needs the Editor role/);
  });

  test('saves the form as a template and starts from one', async () => {
    const user = userEvent.setup();
    const api = recordingApi();
    const { saved, unmount } = renderForm(api);
    await chooseKind(user, 'CPU stress');
    await user.clear(numberField(/^Workers/));
    await user.type(numberField(/^Workers/), '3');
    await user.type(screen.getByLabelText('Template name'), 'cpu drill');
    await user.click(screen.getByRole('button', { name: 'Save as template' }));
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ name: 'cpu drill', form: { kind: 'cpu-stress', params: { workers: '3' }, duration: '1m' } });
    expect(saved[0].form).not.toHaveProperty('name');
    unmount();

    renderForm(api, { templates: saved });
    await chooseOption(user, 'Start from a template', 'cpu drill');
    expect(numberField(/^Workers/)).toHaveValue(3);
    expect((byId('faultline-name') as HTMLInputElement).value).toMatch(/^cpu-stress-[a-z0-9]{5}$/);
  });
});
