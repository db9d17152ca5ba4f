import React from 'react';
import type { StandardEditorProps } from '@grafana/data';
import { DataSourcePicker } from '@grafana/runtime';
import { DATASOURCE_PLUGIN_ID } from '../../client/client';

/** Panel option editor: only Faultline data sources (and dashboard variables) can be picked. */
export function DataSourceOption({ value, onChange }: StandardEditorProps<string>) {
  return <DataSourcePicker pluginId={DATASOURCE_PLUGIN_ID} variables noDefault current={value || null} onChange={(ds) => onChange(ds.uid)} />;
}
