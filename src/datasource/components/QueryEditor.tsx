import React from 'react';
import type { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup } from '@grafana/ui';
import type { DataSource } from '../datasource';
import { QUERY_TYPES, type FaultlineOptions, type FaultlineQuery, type QueryType } from '../types';
import { FilterFields } from './FilterFields';

type Props = QueryEditorProps<DataSource, FaultlineQuery, FaultlineOptions>;

const TYPE_OPTIONS = QUERY_TYPES.map((t) => ({ label: t.label, value: t.value, description: t.description }));

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const queryType = query.queryType && query.queryType !== 'annotations' ? query.queryType : 'experiments';
  const update = (next: FaultlineQuery) => {
    onChange(next);
    onRunQuery();
  };
  const onLimit = (e: React.FormEvent<HTMLInputElement>) => {
    const n = Number(e.currentTarget.value);
    update({ ...query, limit: e.currentTarget.value === '' || !Number.isFinite(n) || n < 1 ? undefined : Math.floor(n) });
  };
  return (
    <div data-testid="faultline-query-editor">
      <InlineFieldRow>
        <InlineField label="Query" labelWidth={14}>
          <RadioButtonGroup<QueryType> options={TYPE_OPTIONS} value={queryType} onChange={(v) => update({ ...query, queryType: v })} />
        </InlineField>
      </InlineFieldRow>
      <FilterFields idPrefix={`faultline-${query.refId}`} datasource={datasource} value={query} showPhase={queryType !== 'live'} onChange={(f) => update({ ...query, ...f })} />
      {(queryType === 'events' || queryType === 'live') && (
        <InlineFieldRow>
          {queryType === 'events' && (
            <InlineField label="Event type" labelWidth={14} tooltip="one event type, e.g. injected, aborted, guard-fired">
              <Input
                id={`faultline-${query.refId}-event-type`}
                width={24}
                value={query.eventType ?? ''}
                placeholder="all"
                onChange={(e) => update({ ...query, eventType: e.currentTarget.value })}
              />
            </InlineField>
          )}
          <InlineField label="Limit" labelWidth={14} tooltip={queryType === 'live' ? 'rows kept in the stream buffer' : 'most events returned'}>
            <Input id={`faultline-${query.refId}-limit`} type="number" min={1} width={12} value={query.limit ?? ''} placeholder={queryType === 'live' ? '500' : '1000'} onChange={onLimit} />
          </InlineField>
        </InlineFieldRow>
      )}
    </div>
  );
}
