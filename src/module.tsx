import { AppPlugin } from '@grafana/data';
import { App } from './app/App';

// The Faultline app: its pages (src/app/), and through plugin.json the nested data source
// (src/datasource/), the panel (src/panel/) and the dashboards (src/dashboards/).
export const plugin = new AppPlugin<Record<string, never>>().setRootPage(App);
