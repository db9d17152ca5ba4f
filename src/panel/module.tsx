import { PanelPlugin } from '@grafana/data';
import type { PanelOptions } from './types';
import { ExperimentPanel } from './components/ExperimentPanel';

// Thin wiring only: the panel component and its options.
export const plugin = new PanelPlugin<PanelOptions>(ExperimentPanel).setPanelOptions((builder) =>
  builder.addTextInput({ path: 'datasource', name: 'Data source', description: 'uid or name of a Faultline data source', defaultValue: '' }),
);
