// Pages the browser tests render, by name. Each takes plain JSON options (they come through
// page.evaluate) and renders with window.harness.mount. Add one file per plugin page.
import { datasourcePage } from './datasource';
import { panelPage } from './panel';

export const scenarios = { datasourcePage, panelPage };
