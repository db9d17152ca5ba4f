import React, { useCallback, useEffect, useMemo, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Combobox, Field, Input, Stack, useStyles2, type ComboboxOption } from '@grafana/ui';
import { PHASES, type Experiment } from '../../api/experiment';
import type { FaultlineApi } from '../client/client';
import { FaultlineView } from '../panel/components/ExperimentPanel';
import { DEFAULT_OPTIONS } from '../panel/types';
import { runReport } from './links';

// The app's main page: every experiment, narrowed by namespace, kind, phase and a name search,
// with launch, pause/resume/stop, stop-all, workflows and the freeze of the panel's view (reused,
// not copied), and each name linking to its run report.

export interface PageProps {
  api: FaultlineApi;
  /** The data source uid the page was opened with (kept in links), if any. */
  datasource?: string;
  canAct: boolean;
  isAdmin: boolean;
}

const ANY = '';

const asOptions = (values: string[], anyLabel: string): Array<ComboboxOption<string>> => [
  { label: anyLabel, value: ANY },
  ...values.map((v) => ({ label: v, value: v })),
];

export function ExperimentsPage({ api, datasource, canAct, isAdmin }: PageProps) {
  const styles = useStyles2(getStyles);
  const [namespace, setNamespace] = useState(ANY);
  const [kind, setKind] = useState(ANY);
  const [phase, setPhase] = useState(ANY);
  const [search, setSearch] = useState('');
  const [known, setKnown] = useState<{ namespaces: string[]; kinds: string[] }>({ namespaces: [], kinds: [] });

  // The filter choices: namespaces that have experiments, and every kind the exporter offers.
  useEffect(() => {
    let gone = false;
    Promise.all([api.listExperiments(), api.listKinds()]).then(
      ([experiments, kinds]) =>
        !gone && setKnown({ namespaces: [...new Set(experiments.map((e) => e.metadata.namespace))].sort(), kinds: kinds.map((k) => k.kind).sort() }),
      () => undefined, // the list below shows why the exporter cannot be read
    );
    return () => {
      gone = true;
    };
  }, [api]);

  const needle = search.trim().toLowerCase();
  const filter = useCallback(
    (e: Experiment) =>
      (!namespace || e.metadata.namespace === namespace) &&
      (!kind || e.spec.fault.kind === kind) &&
      (!phase || e.status.phase === phase) &&
      (!needle || e.metadata.name.toLowerCase().includes(needle)),
    [namespace, kind, phase, needle],
  );
  const reportHref = useCallback((e: Experiment) => runReport(e.metadata.namespace, e.metadata.name, datasource), [datasource]);
  const options = useMemo(() => ({ ...DEFAULT_OPTIONS, eventCount: 10 }), []);

  return (
    <Stack direction="column" gap={2}>
      <div className={styles.filters} role="search" aria-label="Filter experiments">
        <Field label="Namespace" noMargin>
          <Combobox id="fl-filter-namespace" options={asOptions(known.namespaces, 'All namespaces')} value={namespace} width={24} onChange={(o) => setNamespace(o.value)} />
        </Field>
        <Field label="Kind" noMargin>
          <Combobox id="fl-filter-kind" options={asOptions(known.kinds, 'All kinds')} value={kind} width={24} onChange={(o) => setKind(o.value)} />
        </Field>
        <Field label="Phase" noMargin>
          <Combobox id="fl-filter-phase" options={asOptions([...PHASES], 'All phases')} value={phase} width={20} onChange={(o) => setPhase(o.value)} />
        </Field>
        <Field label="Name" noMargin>
          <Input id="fl-filter-name" placeholder="Search by name" value={search} width={28} onChange={(e) => setSearch(e.currentTarget.value)} />
        </Field>
      </div>
      <FaultlineView
        api={api}
        options={options}
        namespaces={[]}
        canAct={canAct}
        isAdmin={isAdmin}
        width="100%"
        height="auto"
        filter={filter}
        reportHref={reportHref}
      />
    </Stack>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  filters: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(2), alignItems: 'flex-end' }),
});
