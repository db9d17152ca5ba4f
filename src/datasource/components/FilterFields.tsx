import React, { useEffect, useState } from 'react';
import { Combobox, InlineField, InlineFieldRow, Input, type ComboboxOption } from '@grafana/ui';
import { KIND_NAMES } from '../../../api/kinds';
import { PHASES } from '../../../api/experiment';
import type { DataSource } from '../datasource';
import type { FaultlineFilters } from '../types';

// The filters every query and the annotation editor share. All fields accept template variables
// ($namespace, ${kind}), so the comboboxes take custom values.

const LABEL_WIDTH = 14;

const asOptions = (values: readonly string[]): Array<ComboboxOption<string>> => values.map((v) => ({ label: v, value: v }));

/** Kind names: the exporter's list when reachable, the built-in registry until then. */
export function useKindOptions(datasource: DataSource): Array<ComboboxOption<string>> {
  const [kinds, setKinds] = useState<string[]>([...KIND_NAMES]);
  useEffect(() => {
    let live = true;
    datasource.client.listKinds().then(
      (items) => live && items.length > 0 && setKinds(items.map((k) => k.kind)),
      () => undefined, // editor still works with the built-in names; the query itself shows the error
    );
    return () => {
      live = false;
    };
  }, [datasource]);
  return asOptions(kinds);
}

interface Props {
  value: FaultlineFilters;
  datasource: DataSource;
  onChange: (value: FaultlineFilters) => void;
  /** Phase filter is meaningless for some query types (live stream). */
  showPhase?: boolean;
  idPrefix: string;
}

const withCurrent = (options: Array<ComboboxOption<string>>, current?: string) =>
  current && !options.some((o) => o.value === current) ? [...options, { label: current, value: current }] : options;

export function FilterFields({ value, datasource, onChange, showPhase = true, idPrefix }: Props) {
  const kindOptions = useKindOptions(datasource);
  const text = (key: keyof FaultlineFilters) => (e: React.FormEvent<HTMLInputElement>) => onChange({ ...value, [key]: e.currentTarget.value });
  // A choice filter: the known values, the current one kept when it is not among them (a template
  // variable such as $kind), any typed value taken, clearing it = all.
  const choice = (key: 'kind' | 'phase', options: Array<ComboboxOption<string>>) => (
    <Combobox
      id={`${idPrefix}-${key}`}
      width={24}
      isClearable
      createCustomValue
      placeholder="all"
      options={withCurrent(options, value[key])}
      value={value[key] || null}
      onChange={(option: ComboboxOption<string> | null) => onChange({ ...value, [key]: option?.value ?? '' })}
    />
  );
  return (
    <>
      <InlineFieldRow>
        <InlineField label="Namespace" labelWidth={LABEL_WIDTH} tooltip="exact namespace; template variables and multi-value allowed">
          <Input
            id={`${idPrefix}-namespace`}
            width={24}
            value={value.namespace ?? ''}
            placeholder={datasource.defaultNamespace ?? 'all'}
            onChange={text('namespace')}
          />
        </InlineField>
        <InlineField label="Kind" labelWidth={LABEL_WIDTH} tooltip="fault kind">
          {choice('kind', kindOptions)}
        </InlineField>
        <InlineField label="Experiment" labelWidth={LABEL_WIDTH} tooltip="experiment name">
          <Input id={`${idPrefix}-experiment`} width={24} value={value.experiment ?? ''} placeholder="all" onChange={text('experiment')} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        {showPhase && (
          <InlineField label="Phase" labelWidth={LABEL_WIDTH} tooltip="experiment phase (for annotations: the run's outcome)">
            {choice('phase', asOptions(PHASES))}
          </InlineField>
        )}
        <InlineField label="Target" labelWidth={LABEL_WIDTH} tooltip="part of a target description, e.g. a pid, process name or daemon">
          <Input id={`${idPrefix}-target`} width={24} value={value.target ?? ''} placeholder="all" onChange={text('target')} />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}
