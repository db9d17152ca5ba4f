// Pages the browser tests render, by name. Each takes plain JSON options (they come through
// page.evaluate) and renders with window.harness.mount. Add one file per plugin page.
import { appPage } from './app';
import { datasourcePage } from './datasource';
import { empty, livePanels } from './live';
import { panelPage } from './panel';

export const scenarios = { appPage, datasourcePage, empty, livePanels, panelPage };
