import React, { useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { Alert, Combobox, Field, Input, RadioButtonGroup, useStyles2 } from '@grafana/ui';
import { MODES_WITH_VALUE } from '../form';
import type { PanelError } from '../errors';
import type { LaunchFormState, TargetInfo, TargetMode } from '../types';

// Targets as the exporter's selector has them (PIDs, process name, cgroups, network namespaces,
// hosts), typed or added from GET /api/v1/targets. Picking a discovered target fills the field
// it belongs to, so what is sent is always visible and editable.

type Selector = LaunchFormState['selector'];

interface Props {
  targets: TargetInfo[];
  loadError?: PanelError;
  selector: Selector;
  mode: TargetMode;
  value: string;
  required: boolean;
  errors: Record<string, string>;
  onChange: (patch: Partial<Pick<LaunchFormState, 'selector' | 'mode' | 'value'>>) => void;
}

const MODES: Array<SelectableValue<TargetMode>> = [
  { label: 'All', value: 'all', description: 'every matching target' },
  { label: 'One', value: 'one', description: 'one matching target, picked at random' },
  { label: 'Fixed', value: 'fixed', description: 'this many targets' },
  { label: 'Fixed %', value: 'fixed-percent', description: 'this share of the targets' },
  { label: 'Up to %', value: 'random-max-percent', description: 'a random share, at most this' },
];

function append(list: string, item: string): string {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.includes(item) ? list : [...items, item].join(', ');
}

/** Which selector field a discovered target fills, and with what: the most specific thing it has. */
export function selectorFor(t: TargetInfo): { field: keyof Selector; value: string } | undefined {
  if (t.pid !== undefined) return { field: 'pids', value: String(t.pid) };
  if (t.netns) return { field: 'netns', value: t.netns };
  if (t.cgroup) return { field: 'cgroups', value: t.cgroup };
  if (t.processName) return { field: 'processName', value: t.processName };
  return undefined;
}

export function TargetPicker({ targets, loadError, selector, mode, value, required, errors, onChange }: Props) {
  const styles = useStyles2(getStyles);
  // The picker adds and forgets: after a pick it starts empty again (a new Combobox), since what was
  // added now stands in the fields below. Combobox keeps the typed text even when its value is null.
  const [picks, setPicks] = useState(0);
  const options = targets
    .map((t, i) => ({ t, i, sel: selectorFor(t) }))
    .filter((o) => o.sel)
    .map((o) => ({ label: o.t.description, value: o.i, description: `${o.t.daemon}${o.t.pid !== undefined ? ` · PID ${o.t.pid}` : ''}` }));

  const pick = (index?: number) => {
    const t = index === undefined ? undefined : targets[index];
    const sel = t && selectorFor(t);
    if (!t || !sel) return;
    const next: Selector = { ...selector, [sel.field]: sel.field === 'processName' ? sel.value : append(selector[sel.field], sel.value) };
    next.daemons = append(next.daemons, t.daemon);
    onChange({ selector: next });
    setPicks((n) => n + 1);
  };
  const set = (field: keyof Selector) => (e: React.FormEvent<HTMLInputElement>) => onChange({ selector: { ...selector, [field]: e.currentTarget.value } });
  const generalError = errors['/spec/targets/selector'];

  return (
    <div>
      {loadError && (
        <Alert severity="warning" title="Could not list targets">
          {loadError.message} You can still type PIDs or a process name.
        </Alert>
      )}
      <Field
        label="Add a discovered target"
        description={required ? 'This fault needs at least one target.' : 'Optional: without targets the fault acts on the whole host (of the hosts listed below, or all).'}
        invalid={!!generalError}
        error={generalError}
      >
        <Combobox
          key={picks}
          id="faultline-target-pick"
          options={options}
          value={null}
          placeholder={targets.length ? `Search ${targets.length} targets…` : 'No targets discovered'}
          onChange={(v) => pick(v.value)}
        />
      </Field>
      <div className={styles.grid}>
        <Field label="PIDs" description="comma-separated" invalid={!!errors['/spec/targets/selector/pids']} error={errors['/spec/targets/selector/pids']}>
          <Input id="faultline-pids" value={selector.pids} placeholder="e.g. 4242, 4243" onChange={set('pids')} />
        </Field>
        <Field
          label="Process name"
          description="regular expression over name and command line"
          invalid={!!errors['/spec/targets/selector/processName']}
          error={errors['/spec/targets/selector/processName']}
        >
          <Input id="faultline-process-name" value={selector.processName} placeholder="e.g. ^nginx$" onChange={set('processName')} />
        </Field>
        <Field label="Cgroups" description="comma-separated paths" invalid={!!errors['/spec/targets/selector/cgroups']} error={errors['/spec/targets/selector/cgroups']}>
          <Input id="faultline-cgroups" value={selector.cgroups} placeholder="e.g. /system.slice/app.service" onChange={set('cgroups')} />
        </Field>
        <Field label="Network namespaces" description="comma-separated" invalid={!!errors['/spec/targets/selector/netns']} error={errors['/spec/targets/selector/netns']}>
          <Input id="faultline-netns" value={selector.netns} placeholder="e.g. app-ns" onChange={set('netns')} />
        </Field>
        <Field label="Hosts" description="daemon names; empty = all" invalid={!!errors['/spec/targets/selector/daemons']} error={errors['/spec/targets/selector/daemons']}>
          <Input id="faultline-daemons" value={selector.daemons} placeholder="all hosts" onChange={set('daemons')} />
        </Field>
      </div>
      <div className={styles.modeRow}>
        <Field label="Selection mode" description={MODES.find((m) => m.value === mode)?.description} invalid={!!errors['/spec/targets/mode']} error={errors['/spec/targets/mode']}>
          <RadioButtonGroup options={MODES} value={mode} onChange={(m) => onChange({ mode: m })} />
        </Field>
        {MODES_WITH_VALUE.includes(mode) && (
          <Field label={mode === 'fixed' ? 'Count' : 'Percent'} required invalid={!!errors['/spec/targets/value']} error={errors['/spec/targets/value']}>
            <Input id="faultline-mode-value" value={value} width={12} suffix={mode === 'fixed' ? undefined : '%'} onChange={(e) => onChange({ value: e.currentTarget.value })} />
          </Field>
        )}
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  grid: css({ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(220px, 1fr))', columnGap: theme.spacing(2) }),
  modeRow: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(2), alignItems: 'flex-start' }),
});
