import { config, getBackendSrv, type BackendSrvRequest } from '@grafana/runtime';
import { lastValueFrom, Observable } from 'rxjs';
import type { FreezeRequest, FreezeState } from '../../api/alerts';
import type { EventList, EventQuery as WireEventQuery, FaultlineEvent } from '../../api/events';
import type { Experiment, ExperimentInput } from '../../api/experiment';
import { EXPORTER_PATHS as P, EXPORTER_API_PREFIX } from '../../api/paths';
import type { Report } from '../../api/report';
import type { Health, TargetCandidate } from '../../api/targets';
// The kinds' params schema read as the JSON schema it is (the launch form renders it).
import type { KindInfo } from '../panel/types';
import type { Workflow } from '../../api/workflow';
import { toApiError } from './errors';
import { sharedEvents } from './stream';

// The one client of the exporter's REST API in the browser, used by the data source, the panel
// and the app page. Every request goes through Grafana's data source proxy
// (`/api/datasources/proxy/uid/<uid>/api/v1/...`, routes in src/datasource/plugin.json), which adds
// the API token and enforces the Grafana role per method, so the browser never holds the token.
// Paths come from api/paths.ts. Failures reject with ApiError (status, code, message, details).

export const DATASOURCE_PLUGIN_ID = 'faultline-chaos-datasource';
export const APP_PLUGIN_ID = 'faultline-chaos-app';

/** Filters of GET /api/v1/events: the wire query (api/events.ts), whose numbers may be given as numbers. */
export type EventQuery = { [K in keyof WireEventQuery]?: string | number };

/** What the panel and the app page need from the exporter (tests give them recorded fakes). */
export interface FaultlineApi {
  listExperiments(): Promise<Experiment[]>;
  listKinds(): Promise<KindInfo[]>;
  listTargets(): Promise<TargetCandidate[]>;
  createExperiment(input: ExperimentInput): Promise<Experiment>;
  pause(namespace: string, name: string): Promise<unknown>;
  resume(namespace: string, name: string): Promise<unknown>;
  stop(namespace: string, name: string): Promise<unknown>;
  remove(namespace: string, name: string): Promise<unknown>;
  stopAll(reason?: string): Promise<unknown>;
  /** The latest events in [from, to] (default: the last 15 minutes), newest first. */
  recentEvents(limit: number, range?: { from: number; to: number }): Promise<FaultlineEvent[]>;
  /** Live events on the data source's one shared stream. Unsubscribe to leave it. */
  events(): Observable<FaultlineEvent>;
  listWorkflows(): Promise<Workflow[]>;
  abortWorkflow(namespace: string, name: string): Promise<unknown>;
  freezeState(): Promise<FreezeState>;
  freeze(request: FreezeRequest): Promise<FreezeState>;
  unfreeze(): Promise<unknown>;
  report(namespace: string, name: string): Promise<Report>;
}

function compact(obj: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') out[k] = String(v);
  return out;
}

/**
 * Grafana pages carry <base href="<app sub url>/">: like backendSrv, drop the leading slash so
 * fetch() resolves the proxy path under a sub path too.
 */
function browserUrl(url: string): string {
  return url.startsWith('/') ? url.slice(1) : url;
}

/** The proxied API of one Faultline data source. */
export class FaultlineClient implements FaultlineApi {
  /** `<proxy url>/api/v1`, e.g. /api/datasources/proxy/uid/abc/api/v1 */
  readonly apiBase: string;

  constructor(
    readonly uid: string,
    proxyUrl = `/api/datasources/proxy/uid/${uid}`,
  ) {
    this.apiBase = `${proxyUrl.replace(/\/+$/, '')}${EXPORTER_API_PREFIX}`;
  }

  /** One proxied request; errors become ApiError. */
  async request<T>(options: Omit<BackendSrvRequest, 'url'> & { url: string }): Promise<T> {
    try {
      const response = await lastValueFrom(getBackendSrv().fetch<T>({ ...options, url: `${this.apiBase}${options.url}`, showErrorAlert: false, showSuccessAlert: false }));
      return response.data;
    } catch (err) {
      throw toApiError(err);
    }
  }

  private async items<T>(url: string, params?: object): Promise<T[]> {
    const body = await this.request<{ items?: T[] }>({ method: 'GET', url, params: params ? compact(params) : undefined });
    return body?.items ?? [];
  }

  /** Partial: whatever answers at the URL may not be an exporter at all (the data source's test says so). */
  health(): Promise<Partial<Health> | undefined> {
    return this.request({ method: 'GET', url: P.health });
  }

  listExperiments(filter: object = {}): Promise<Experiment[]> {
    return this.items(P.experiments, filter);
  }

  getExperiment(namespace: string, name: string): Promise<Experiment> {
    return this.request({ method: 'GET', url: P.experiment(namespace, name) });
  }

  listKinds(): Promise<KindInfo[]> {
    return this.items(P.kinds);
  }

  listTargets(): Promise<TargetCandidate[]> {
    return this.items(P.targets);
  }

  listEvents(query: EventQuery = {}): Promise<EventList> {
    return this.request({ method: 'GET', url: P.events, params: compact(query) });
  }

  async recentEvents(limit: number, range?: { from: number; to: number }): Promise<FaultlineEvent[]> {
    const to = range?.to ?? Date.now();
    const from = range?.from ?? to - 15 * 60_000;
    // The exporter pages oldest first from a cursor: read pages up to the end of the range and keep the newest.
    const out: FaultlineEvent[] = [];
    let after: number | undefined;
    for (let page = 0; page < 10; page++) {
      const body = await this.listEvents({ from, to, after, limit: 1000 });
      out.push(...(body.items ?? []));
      if (!body.nextCursor || !body.items?.length) break;
      after = Number(body.nextCursor);
    }
    return out.sort((a, b) => b.id - a.id).slice(0, limit);
  }

  createExperiment(input: ExperimentInput): Promise<Experiment> {
    return this.request({ method: 'POST', url: P.experiments, data: input });
  }

  pause(namespace: string, name: string): Promise<Experiment> {
    return this.request({ method: 'POST', url: P.experimentAction(namespace, name, 'pause') });
  }

  resume(namespace: string, name: string): Promise<Experiment> {
    return this.request({ method: 'POST', url: P.experimentAction(namespace, name, 'resume') });
  }

  stop(namespace: string, name: string): Promise<Experiment> {
    return this.request({ method: 'POST', url: P.experimentAction(namespace, name, 'stop') });
  }

  remove(namespace: string, name: string): Promise<unknown> {
    return this.request({ method: 'DELETE', url: P.experiment(namespace, name) });
  }

  /** The kill switch: stops every running experiment. */
  stopAll(reason?: string): Promise<Record<string, unknown>> {
    return this.request({ method: 'POST', url: P.stopAll, data: reason ? { reason } : {} });
  }

  report(namespace: string, name: string): Promise<Report> {
    return this.request({ method: 'GET', url: P.report(namespace, name) });
  }

  listWorkflows(): Promise<Workflow[]> {
    return this.items(P.workflows);
  }

  abortWorkflow(namespace: string, name: string): Promise<unknown> {
    return this.request({ method: 'POST', url: P.workflowAbort(namespace, name), data: {} });
  }

  freezeState(): Promise<FreezeState> {
    return this.request({ method: 'GET', url: P.freeze });
  }

  freeze(request: FreezeRequest): Promise<FreezeState> {
    return this.request({ method: 'POST', url: P.freeze, data: request });
  }

  unfreeze(): Promise<unknown> {
    return this.request({ method: 'DELETE', url: P.freeze });
  }

  /** The browser-relative URL of the event stream (the shared connection's key). */
  get streamUrl(): string {
    return browserUrl(`${this.apiBase}${P.eventStream}`);
  }

  /** Live events on this data source's one shared connection (see stream.ts). */
  events(): Observable<FaultlineEvent> {
    return sharedEvents(this.streamUrl).events;
  }
}

/**
 * The Faultline data source named by uid or name (variables already replaced), or the first one
 * when `ref` is empty, from Grafana's boot config of data sources (no DataSourceSrv: the panel and
 * the app need only the proxy URL, and the stream is shared through stream.ts anyway).
 */
export function clientFor(ref: string): { client: FaultlineClient } | { problem: 'none' | 'missing' | 'not-faultline' } {
  const all = Object.values(config.datasources ?? {});
  const wanted = ref.trim();
  const ds = wanted ? all.find((d) => d.uid === wanted || d.name === wanted) : all.find((d) => d.type === DATASOURCE_PLUGIN_ID);
  if (!ds) return { problem: wanted ? 'missing' : 'none' };
  if (ds.type !== DATASOURCE_PLUGIN_ID) return { problem: 'not-faultline' };
  return { client: new FaultlineClient(ds.uid, ds.url) };
}
