import { DataSourcePlugin } from '@grafana/data';
import { DataSource } from './datasource';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import type { FaultlineOptions, FaultlineQuery, FaultlineSecureOptions } from './types';

// Thin wiring only. Annotation and variable support live on the DataSource class.
export const plugin = new DataSourcePlugin<DataSource, FaultlineQuery, FaultlineOptions, FaultlineSecureOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
