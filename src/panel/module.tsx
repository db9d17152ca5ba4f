import { PanelPlugin, type SelectableValue } from '@grafana/data';
import { ExperimentPanel } from './components/ExperimentPanel';
import { DataSourceOption } from './components/DataSourceOption';
import { COLUMNS, DEFAULT_OPTIONS, type Column, type PanelOptions } from './types';

// Thin wiring only. plugin.json says skipDataQuery: the panel reads the exporter through the shared
// client (src/client/), not a panel query, so Grafana shows no Query tab for it.
export const plugin = new PanelPlugin<PanelOptions>(ExperimentPanel).setPanelOptions((builder) =>
  builder
    .addCustomEditor({
      id: 'datasource',
      path: 'datasource',
      name: 'Data source',
      description: 'The Faultline data source to read from and act through; empty = the first one',
      defaultValue: DEFAULT_OPTIONS.datasource,
      editor: DataSourceOption,
    })
    .addTextInput({
      path: 'namespace',
      name: 'Namespaces',
      description: 'Show only these namespaces, comma-separated; template variables work ($namespace). Empty = all',
      defaultValue: DEFAULT_OPTIONS.namespace,
    })
    // Grafana types a multi-select's options as the array type; the values are single columns.
    .addMultiSelect<Column[], { options: Array<SelectableValue<Column[]>> }>({
      path: 'columns',
      name: 'Columns',
      description: 'Name is always shown',
      defaultValue: DEFAULT_OPTIONS.columns,
      settings: { options: COLUMNS.map((c) => ({ value: c.value as unknown as Column[], label: c.label })) },
    })
    .addBooleanSwitch({ path: 'showLaunch', name: 'Show "Launch experiment"', description: 'Editors and Admins only in any case', defaultValue: DEFAULT_OPTIONS.showLaunch })
    .addBooleanSwitch({ path: 'activeOnly', name: 'Only active experiments', description: 'Hide Finished, Aborted and Failed', defaultValue: DEFAULT_OPTIONS.activeOnly })
    .addNumberInput({ path: 'eventCount', name: 'Latest events shown', description: '0 hides the event list', defaultValue: DEFAULT_OPTIONS.eventCount, settings: { min: 0, max: 50, integer: true } }),
);
