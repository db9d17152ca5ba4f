/** @jest-environment ./tests/plugin/jsdom-with-fetch.cjs */
import React, { useState } from 'react';
import { render, screen, fireEvent, waitFor, act, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { DataSourceSettings } from '@grafana/data';
import { DataSource } from '../../src/datasource/datasource';
import { ConfigEditor } from '../../src/datasource/components/ConfigEditor';
import { QueryEditor } from '../../src/datasource/components/QueryEditor';
import { AnnotationEditor } from '../../src/datasource/components/AnnotationEditor';
import { VariableQueryEditor } from '../../src/datasource/components/VariableQueryEditor';
import { plugin } from '../../src/datasource/module';
import type { FaultlineOptions, FaultlineQuery, FaultlineSecureOptions, FaultlineVariableQuery } from '../../src/datasource/types';
import { installGrafana } from './helpers/grafana-backend';
import { instanceSettings } from './helpers/settings';
import { chooseOption, comboboxOptions, typeCustomValue, useComboboxLayout } from './helpers/combobox';

// The editors with the real @grafana/ui. The data source points at a closed port: the editors must
// stay usable (built-in kind names) when the exporter cannot be reached.

jest.setTimeout(30_000);
useComboboxLayout();

const settings = (uid: string) => instanceSettings(uid, { defaultNamespace: 'shop' });

let ds: DataSource;
beforeAll(() => {
  installGrafana({ uid: 'editors', url: 'http://127.0.0.1:1' });
  ds = new DataSource(settings('editors'));
});

function baseOptions(): DataSourceSettings<FaultlineOptions, FaultlineSecureOptions> {
  return {
    id: 1, uid: 'x', orgId: 1, name: 'Faultline', type: 'faultline-chaos-datasource', typeName: 'Faultline', typeLogoUrl: '',
    access: 'proxy', url: '', user: '', database: '', basicAuth: false, basicAuthUser: '', isDefault: false,
    jsonData: {}, secureJsonFields: {}, readOnly: false, withCredentials: false,
  } as DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>;
}

/** Keeps editor state like Grafana's settings page does, and records every change. */
function StatefulConfig({ initial, changes }: { initial: DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>; changes: Array<DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>> }) {
  const [options, setOptions] = useState(initial);
  return (
    <ConfigEditor
      options={options}
      onOptionsChange={(o) => {
        changes.push(o);
        setOptions(o);
      }}
    />
  );
}

describe('module', () => {
  it('wires the DataSource class, config and query editors', () => {
    expect(plugin.DataSourceClass).toBe(DataSource);
    expect(plugin.components.ConfigEditor).toBe(ConfigEditor);
    expect(plugin.components.QueryEditor).toBe(QueryEditor);
    expect(ds.annotations?.QueryEditor).toBe(AnnotationEditor);
  });
});

describe('ConfigEditor', () => {
  it('stores the exporter URL without trailing slash as the data source URL, with proxy access', async () => {
    const changes: Array<DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>> = [];
    render(<StatefulConfig initial={baseOptions()} changes={changes} />);
    const input = screen.getByPlaceholderText('http://faultline:9470');
    await userEvent.type(input, 'http://exporter:9470//');
    fireEvent.blur(input);
    const last = changes[changes.length - 1];
    expect(last.url).toBe('http://exporter:9470');
    expect(last.access).toBe('proxy');
    expect(last.jsonData).toEqual({});
  });

  it('names a URL that is not http(s)', async () => {
    const changes: Array<DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>> = [];
    render(<StatefulConfig initial={{ ...baseOptions(), url: 'exporter:9470' }} changes={changes} />);
    expect(screen.getByText(/Use an http:\/\/ or https:\/\/ URL/)).toBeInTheDocument();
  });

  it('puts the token only in secureJsonData and can reset a configured one', async () => {
    const changes: Array<DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>> = [];
    const { unmount } = render(<StatefulConfig initial={baseOptions()} changes={changes} />);
    await userEvent.type(screen.getByPlaceholderText('token'), 's3cret');
    const last = changes[changes.length - 1];
    expect(last.secureJsonData).toEqual({ apiToken: 's3cret' });
    expect(JSON.stringify(last.jsonData)).not.toContain('s3cret');
    unmount();

    const configured = { ...baseOptions(), secureJsonFields: { apiToken: true } };
    const changes2: Array<DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>> = [];
    render(<StatefulConfig initial={configured} changes={changes2} />);
    expect(screen.getByDisplayValue('configured')).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(changes2[changes2.length - 1].secureJsonFields.apiToken).toBe(false);
  });

  it('edits the default namespace in jsonData', async () => {
    const changes: Array<DataSourceSettings<FaultlineOptions, FaultlineSecureOptions>> = [];
    render(<StatefulConfig initial={baseOptions()} changes={changes} />);
    await userEvent.type(screen.getByPlaceholderText('all namespaces'), 'shop');
    expect(changes[changes.length - 1].jsonData.defaultNamespace).toBe('shop');
  });
});

function StatefulQuery({ initial, onRun, changes }: { initial: FaultlineQuery; onRun: () => void; changes: FaultlineQuery[] }) {
  const [query, setQuery] = useState(initial);
  return (
    <QueryEditor
      query={query}
      datasource={ds}
      onRunQuery={onRun}
      onChange={(q) => {
        changes.push(q);
        setQuery(q);
      }}
    />
  );
}

describe('QueryEditor', () => {
  it('switches query type and runs the query', async () => {
    const changes: FaultlineQuery[] = [];
    const onRun = jest.fn();
    render(<StatefulQuery initial={{ refId: 'A' }} onRun={onRun} changes={changes} />);
    // Experiments is selected by default.
    expect(screen.getByRole('radio', { name: 'Experiments' })).toBeChecked();
    await userEvent.click(screen.getByRole('radio', { name: 'Events' }));
    expect(changes[changes.length - 1].queryType).toBe('events');
    expect(onRun).toHaveBeenCalled();
    // Events has an event type and a limit; a limit below 1 is dropped, not sent.
    await userEvent.type(screen.getByPlaceholderText('1000'), '0');
    expect(changes[changes.length - 1].limit).toBeUndefined();
    await userEvent.clear(screen.getByPlaceholderText('1000'));
    await userEvent.type(screen.getByPlaceholderText('1000'), '50');
    expect(changes[changes.length - 1].limit).toBe(50);
    expect(screen.getByLabelText('Event type')).toBeInTheDocument();
  });

  it('takes template variables in every filter and offers the built-in kinds when the exporter is unreachable', async () => {
    const changes: FaultlineQuery[] = [];
    render(<StatefulQuery initial={{ refId: 'B', queryType: 'experiments' }} onRun={() => {}} changes={changes} />);
    // The default namespace of the data source is the placeholder.
    const ns = screen.getByPlaceholderText('shop');
    await userEvent.type(ns, '$namespace');
    expect(changes[changes.length - 1].namespace).toBe('$namespace');
    await userEvent.type(screen.getByLabelText('Target'), 'sleep');
    expect(changes[changes.length - 1].target).toBe('sleep');

    // The kind list is the built-in one (the exporter is unreachable).
    const user = userEvent.setup();
    await user.click(screen.getByRole('combobox', { name: 'Kind' }));
    expect((await comboboxOptions()).map((o) => o.textContent)).toEqual(expect.arrayContaining(['container-kill', 'cpu-stress']));
    await user.keyboard('{Escape}');
    await chooseOption(user, 'Kind', 'process-pause');
    expect(changes[changes.length - 1].kind).toBe('process-pause');
    expect(screen.getByRole('combobox', { name: 'Kind' })).toHaveValue('process-pause');

    // A variable as kind (custom value), and it stays shown though no option has it.
    await typeCustomValue(user, 'Kind', '$kind');
    expect(changes[changes.length - 1].kind).toBe('$kind');
    expect(screen.getByRole('combobox', { name: 'Kind' })).toHaveValue('$kind');

    // A phase is picked the same way; clearing it removes the filter.
    await chooseOption(user, 'Phase', 'Failed');
    expect(changes[changes.length - 1].phase).toBe('Failed');
    const phase = screen.getByRole('combobox', { name: 'Phase' });
    await user.click(within(phase.parentElement!).getByRole('button', { name: 'Clear value' }));
    expect(changes[changes.length - 1].phase).toBe('');
    expect(phase).toHaveValue('');
  });

  it('hides the phase filter for live events and shows the buffer limit', async () => {
    render(<StatefulQuery initial={{ refId: 'C', queryType: 'live' }} onRun={() => {}} changes={[]} />);
    expect(screen.queryByLabelText('Phase')).not.toBeInTheDocument();
    expect(screen.getByPlaceholderText('500')).toBeInTheDocument();
  });
});

describe('AnnotationEditor', () => {
  it('edits filters and always keeps the annotations query type', async () => {
    const changes: FaultlineQuery[] = [];
    function Stateful() {
      const [q, setQ] = useState<FaultlineQuery>({ refId: 'Anno', ...ds.annotations!.getDefaultQuery!() } as FaultlineQuery);
      return <AnnotationEditor query={q} datasource={ds} onRunQuery={() => {}} onChange={(n) => { changes.push(n); setQ(n); }} />;
    }
    render(<Stateful />);
    expect(screen.getByText(/One region per experiment run/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Experiment'), 'checkout');
    const last = changes[changes.length - 1];
    expect(last.experiment).toBe('checkout');
    expect(last.queryType).toBe('annotations');
    // prepareQuery turns the stored annotation into an annotations query whatever it held.
    const prepared = ds.annotations!.prepareQuery!({ name: 'faultline', enable: true, iconColor: 'red', target: { ...last, queryType: 'events' } } as never);
    expect(prepared).toMatchObject({ queryType: 'annotations', experiment: 'checkout' });
  });
});

describe('VariableQueryEditor', () => {
  it('picks what to list; experiments take a namespace', async () => {
    const changes: FaultlineVariableQuery[] = [];
    function Stateful() {
      const [q, setQ] = useState<FaultlineVariableQuery>({ refId: 'v', find: 'namespaces' });
      return <VariableQueryEditor query={q} datasource={ds} onRunQuery={() => {}} onChange={(n) => { changes.push(n); setQ(n); }} />;
    }
    render(<Stateful />);
    expect(screen.queryByLabelText('Namespace')).not.toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Values'), 'Experim{enter}');
    await waitFor(() => expect(changes[changes.length - 1].find).toBe('experiments'));
    await act(async () => {
      await userEvent.type(screen.getByLabelText('Namespace'), '$ns');
    });
    expect(changes[changes.length - 1]).toEqual({ refId: 'v', find: 'experiments', namespace: '$ns' });
  });
});
