import { APP_PLUGIN_ID } from '../client/client';

// URLs of the app's pages. Relative (no leading slash) like Grafana's own links, so they resolve
// under Grafana's <base href> when it runs on a sub path. Annotation regions link to runReport().

export const APP_ROOT = `a/${APP_PLUGIN_ID}`;

export type AppPageName = 'experiments' | 'workflows' | 'schedules' | 'report';

export const appPage = (page: AppPageName) => `${APP_ROOT}/${page}`;

/** The report page of one run (an experiment run is an experiment: scheduled runs have their own names). */
export function runReport(namespace: string, name: string, datasource?: string): string {
  const q = new URLSearchParams({ namespace, name });
  if (datasource) q.set('datasource', datasource);
  return `${appPage('report')}?${q.toString()}`;
}

/** The page name of a location path (…/a/<app>/<page>); experiments when none. */
export function pageOf(pathname: string): AppPageName {
  const m = new RegExp(`/${APP_ROOT}/([a-z]+)`).exec(pathname);
  const page = m?.[1];
  return page === 'workflows' || page === 'schedules' || page === 'report' ? page : 'experiments';
}
