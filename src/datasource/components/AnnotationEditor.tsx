import React from 'react';
import type { QueryEditorProps } from '@grafana/data';
import type { DataSource } from '../datasource';
import type { FaultlineOptions, FaultlineQuery } from '../types';
import { FilterFields } from './FilterFields';

type Props = QueryEditorProps<DataSource, FaultlineQuery, FaultlineOptions>;

/** Annotation query: the same filters; every matching run becomes one region. */
export function AnnotationEditor({ query, onChange, datasource }: Props) {
  const value: FaultlineQuery = query ?? { refId: 'Anno', queryType: 'annotations' };
  return (
    <div data-testid="faultline-annotation-editor">
      <p style={{ marginBottom: 8 }}>
        One region per experiment run: from injection to recovery (or now while it runs), tagged faultline, kind, namespace and outcome.
      </p>
      <FilterFields idPrefix="faultline-anno" datasource={datasource} value={value} onChange={(f) => onChange({ ...value, ...f, queryType: 'annotations' })} />
    </div>
  );
}
