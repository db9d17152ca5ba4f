import React from 'react';
import type { QueryEditorProps } from '@grafana/data';
import { Combobox, InlineField, InlineFieldRow, Input } from '@grafana/ui';
import type { DataSource } from '../datasource';
import { VARIABLE_FINDS, type FaultlineOptions, type FaultlineQuery, type FaultlineVariableQuery, type VariableFind } from '../types';

type Props = QueryEditorProps<DataSource, FaultlineQuery, FaultlineOptions, FaultlineVariableQuery>;

export function VariableQueryEditor({ query, onChange }: Props) {
  const value: FaultlineVariableQuery = { ...query, refId: query?.refId ?? 'variable', find: query?.find ?? 'namespaces' };
  return (
    <InlineFieldRow data-testid="faultline-variable-editor">
      <InlineField label="Values" labelWidth={14}>
        <Combobox<VariableFind>
          id="faultline-variable-find"
          width={24}
          options={VARIABLE_FINDS.map((f) => ({ label: f.label, value: f.value }))}
          value={value.find}
          onChange={(o) => onChange({ ...value, find: o.value })}
        />
      </InlineField>
      {value.find === 'experiments' && (
        <InlineField label="Namespace" labelWidth={14} tooltip="only experiments of this namespace; template variables allowed">
          <Input id="faultline-variable-namespace" width={24} value={value.namespace ?? ''} placeholder="all" onChange={(e) => onChange({ ...value, namespace: e.currentTarget.value })} />
        </InlineField>
      )}
    </InlineFieldRow>
  );
}
