import { APP_PLUGIN_ID } from '../client/client';

// URLs of the app's pages. In React links they are absolute app paths ("/a/<id>/...": Grafana's
// router adds its sub path); in annotation HTML, a plain <a>, they are relative ("a/<id>/...") so
// they resolve under Grafana's <base href> when Grafana runs on a sub path.

export const APP_ROOT = `a/${APP_PLUGIN_ID}`;

export type AppPageName = 'experiments' | 'workflows' | 'schedules' | 'report';

export const appPage = (page: AppPageName) => `/${APP_ROOT}/${page}`;

/**
 * The report page of one run (a run is an experiment: scheduled runs have their own names).
 * `relative` for plain HTML links (annotation text).
 */
export function runReport(namespace: string, name: string, datasource?: string, relative = false): string {
  const q = new URLSearchParams({ namespace, name });
  if (datasource) q.set('datasource', datasource);
  const url = `${appPage('report')}?${q.toString()}`;
  return relative ? url.slice(1) : url;
}

/** The page name of a location path (…/a/<app>/<page>); experiments when none. */
export function pageOf(pathname: string): AppPageName {
  const m = new RegExp(`/${APP_ROOT}/([a-z]+)`).exec(pathname);
  const page = m?.[1];
  return page === 'workflows' || page === 'schedules' || page === 'report' ? page : 'experiments';
}
