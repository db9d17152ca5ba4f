import React, { useEffect, useState } from 'react';
import { dateTime, LoadingState, type DataFrame, type DataQueryResponse, type DataSourceInstanceSettings, type DataSourceSettings } from '@grafana/data';
import { Alert, Button, Card, Stack, useStyles2 } from '@grafana/ui';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';

// The data source as a Grafana user meets it: the settings page (config editor + Save & test) and
// the query editor of a panel with the query's result, and the annotation editor. Everything comes
// from the built dist/faultline-chaos-datasource/module.js, loaded through the AMD loader.

export interface DatasourcePageOptions {
  uid: string;
  /** The exporter URL as the settings page shows it. */
  url: string;
  jsonData?: Record<string, unknown>;
  tokenConfigured?: boolean;
  mode?: 'dark' | 'light';
  /** Run Save & test on render. */
  test?: boolean;
  queries?: Array<Record<string, unknown>>;
  /** Dashboard time range, ms ago. */
  rangeMs?: number;
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ padding: theme.spacing(2), display: 'grid', gridTemplateColumns: 'minmax(520px, 1fr) minmax(560px, 1.3fr)', gap: theme.spacing(2), alignItems: 'start' }),
  section: css({ background: theme.colors.background.primary, border: `1px solid ${theme.colors.border.weak}`, borderRadius: theme.shape.radius.default, padding: theme.spacing(2) }),
  title: css({ ...theme.typography.h4, marginBottom: theme.spacing(2) }),
  table: css({ width: '100%', borderCollapse: 'collapse', fontSize: theme.typography.bodySmall.fontSize, 'th, td': { textAlign: 'left', padding: theme.spacing(0.5, 1), borderBottom: `1px solid ${theme.colors.border.weak}` }, th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium } }),
  meta: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize, marginBottom: theme.spacing(1) }),
});

function formatCell(value: unknown, type: string): string {
  if (value === null || value === undefined) return '';
  if (type === 'time' && typeof value === 'number') return new Date(value).toISOString().replace('T', ' ').slice(0, 19);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function FrameTable({ frame, maxRows = 8 }: { frame: DataFrame; maxRows?: number }) {
  const s = useStyles2(getStyles);
  const fields = frame.fields.filter((f) => f.name !== 'labels' && f.name !== 'uid').slice(0, 8);
  const rows = Math.min(frame.length, maxRows);
  return (
    <div data-testid={`frame-${frame.name}`}>
      <div className={s.meta}>
        frame “{frame.name}” · {frame.length} rows · fields: {frame.fields.map((f) => `${f.name}:${f.type}`).join(', ')}
      </div>
      <table className={s.table}>
        <thead>
          <tr>{fields.map((f) => <th key={f.name}>{f.name}</th>)}</tr>
        </thead>
        <tbody>
          {Array.from({ length: rows }, (_, i) => (
            <tr key={i}>{fields.map((f) => <td key={f.name}>{formatCell(f.values[i], f.type)}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Page({ plugin, opts }: { plugin: any; opts: DatasourcePageOptions }) {
  const s = useStyles2(getStyles);
  const { ConfigEditor, QueryEditor } = plugin.components;
  const [settings, setSettings] = useState<DataSourceSettings>({
    id: 1, uid: opts.uid, orgId: 1, name: 'Faultline', type: 'faultline-chaos-datasource', typeName: 'Faultline', typeLogoUrl: '',
    access: 'proxy', url: opts.url, user: '', database: '', basicAuth: false, basicAuthUser: '', isDefault: false,
    jsonData: opts.jsonData ?? {}, secureJsonFields: { apiToken: Boolean(opts.tokenConfigured) }, readOnly: false, withCredentials: false,
  } as DataSourceSettings);
  const [ds] = useState(() => {
    const instance: DataSourceInstanceSettings = {
      uid: opts.uid, id: 1, type: 'faultline-chaos-datasource', name: 'Faultline', url: `/api/datasources/proxy/uid/${opts.uid}`, access: 'proxy',
      jsonData: opts.jsonData ?? {}, meta: plugin.meta ?? { id: 'faultline-chaos-datasource' }, readOnly: false,
    } as unknown as DataSourceInstanceSettings;
    return new plugin.DataSourceClass(instance);
  });
  const [test, setTest] = useState<{ status: string; message: string } | undefined>();
  const [queries, setQueries] = useState<Array<Record<string, unknown>>>(opts.queries ?? [{ refId: 'A', queryType: 'experiments' }]);
  const [results, setResults] = useState<Record<string, DataQueryResponse>>({});
  const [anno, setAnno] = useState<Record<string, unknown>>({ refId: 'Anno', ...ds.annotations.getDefaultQuery() });
  const AnnotationEditor = ds.annotations.QueryEditor;

  const runTest = () => ds.testDatasource().then(setTest, (e: Error) => setTest({ status: 'error', message: String(e.message ?? e) }));
  useEffect(() => {
    if (opts.test) void runTest();
  }, []);

  const runQueries = () => {
    const to = dateTime();
    const from = dateTime(to.valueOf() - (opts.rangeMs ?? 3600_000));
    const sub = ds
      .query({ targets: queries, range: { from, to, raw: { from, to } }, interval: '10s', intervalMs: 10_000, maxDataPoints: 200, scopedVars: {}, requestId: 'harness', timezone: 'utc', app: 'dashboard', startTime: Date.now() })
      .subscribe((r: DataQueryResponse) => setResults((prev) => ({ ...prev, [r.key ?? 'A']: r })));
    return () => sub.unsubscribe();
  };
  useEffect(runQueries, [JSON.stringify(queries)]);

  return (
    <div className={s.page}>
      <section className={s.section} data-testid="settings-page">
        <div className={s.title}>Data sources / Faultline</div>
        <ConfigEditor options={settings} onOptionsChange={setSettings} />
        <Stack direction="row" gap={1}>
          <Button onClick={runTest} data-testid="save-and-test">Save &amp; test</Button>
        </Stack>
        {test && (
          <div style={{ marginTop: 16 }} data-testid="test-result" data-status={test.status}>
            <Alert severity={test.status === 'success' ? 'success' : 'error'} title={test.status === 'success' ? 'Data source is working' : 'Test failed'}>
              {test.message}
            </Alert>
          </div>
        )}
      </section>
      <section className={s.section} data-testid="query-page">
        <div className={s.title}>Panel query</div>
        {queries.map((q, i) => (
          <Card key={String(q.refId)} data-testid={`query-${q.refId}`}>
            <Card.Heading>Query {String(q.refId)}</Card.Heading>
            <Card.Description>
              <QueryEditor
                query={q}
                datasource={ds}
                onChange={(n: Record<string, unknown>) => setQueries((all) => all.map((x, j) => (j === i ? n : x)))}
                onRunQuery={() => undefined}
              />
              {results[String(q.refId)] && (
                <div data-testid={`result-${q.refId}`} data-state={results[String(q.refId)].state ?? LoadingState.Done}>
                  {results[String(q.refId)].error && <Alert title="Query error">{results[String(q.refId)].error?.message}</Alert>}
                  {results[String(q.refId)].data.map((f: DataFrame, k: number) => (
                    <FrameTable key={k} frame={f} />
                  ))}
                </div>
              )}
            </Card.Description>
          </Card>
        ))}
        <div className={s.title} style={{ marginTop: 16 }}>Annotation query</div>
        <AnnotationEditor query={anno} datasource={ds} onChange={setAnno} onRunQuery={() => undefined} />
      </section>
    </div>
  );
}

export async function datasourcePage(opts: DatasourcePageOptions): Promise<void> {
  const mod = await window.harness.loadPlugin('faultline-chaos-datasource');
  window.harness.mount(<Page plugin={mod.plugin} opts={opts} />, opts.mode ?? 'dark');
}
