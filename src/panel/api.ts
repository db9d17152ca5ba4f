import { getBackendSrv, getDataSourceSrv } from '@grafana/runtime';
import { Observable, from, lastValueFrom, mergeMap, type ObservableInput } from 'rxjs';
import type { FreezeRequest, FreezeState } from '../../api/alerts';
import type { Workflow } from '../../api/workflow';
import { toApiError } from '../datasource/datasource';
import { PanelError } from './errors';
import type { Experiment, ExperimentInput, FaultlineEvent, KindInfo, TargetInfo } from './types';

// The panel reaches the exporter only through the Faultline data source (its proxy routes), so
// Grafana's roles and the API token stay on the server. This file is the one place that knows the
// data source's method names; the rest of the panel talks to FaultlineApi.

export const DATASOURCE_PLUGIN_ID = 'faultline-datasource';

export interface FaultlineApi {
  listExperiments(): Promise<Experiment[]>;
  listKinds(): Promise<KindInfo[]>;
  listTargets(): Promise<TargetInfo[]>;
  createExperiment(input: ExperimentInput): Promise<Experiment>;
  pause(namespace: string, name: string): Promise<unknown>;
  resume(namespace: string, name: string): Promise<unknown>;
  stop(namespace: string, name: string): Promise<unknown>;
  remove(namespace: string, name: string): Promise<unknown>;
  stopAll(): Promise<unknown>;
  /** The latest events, newest first (so the panel has history before the stream says anything). */
  recentEvents(limit: number): Promise<FaultlineEvent[]>;
  /** Live events; errors when the stream gives up, completes never while healthy. Unsubscribe closes it. */
  events(): Observable<FaultlineEvent>;
  listWorkflows(): Promise<Workflow[]>;
  abortWorkflow(namespace: string, name: string): Promise<unknown>;
  freezeState(): Promise<FreezeState>;
  freeze(request: FreezeRequest): Promise<FreezeState>;
  unfreeze(): Promise<unknown>;
}

type AnyFn = (...args: unknown[]) => unknown;

/** `{items: [...]}` or a bare array: the data source may return either. */
function items<T>(value: unknown): T[] {
  if (Array.isArray(value)) return value as T[];
  const list = (value as { items?: unknown } | null)?.items;
  return Array.isArray(list) ? (list as T[]) : [];
}

function isEvent(value: unknown): value is FaultlineEvent {
  const v = value as Partial<FaultlineEvent> | null;
  return !!v && typeof v === 'object' && typeof v.type === 'string' && (typeof v.id === 'number' || typeof v.id === 'string');
}

/**
 * Events out of whatever the data source's stream emits: events themselves, raw SSE messages
 * ({event, data: JSON}), or data frames / query responses with one row per event.
 */
export function eventsFrom(value: unknown): FaultlineEvent[] {
  if (isEvent(value)) return [value];
  const v = value as Record<string, unknown> | null;
  if (!v || typeof v !== 'object') return [];
  if (typeof v.data === 'string') {
    try {
      const parsed = JSON.parse(v.data) as unknown;
      return isEvent(parsed) ? [parsed] : [];
    } catch {
      return [];
    }
  }
  const frames = Array.isArray(v.data) ? (v.data as unknown[]) : Array.isArray(v.fields) ? [v] : [];
  const out: FaultlineEvent[] = [];
  for (const frame of frames) {
    const fields = (frame as { fields?: Array<{ name: string; values: ArrayLike<unknown> }> }).fields ?? [];
    const length = fields[0]?.values.length ?? 0;
    for (let i = 0; i < length; i++) {
      const row: Record<string, unknown> = {};
      for (const f of fields) row[f.name] = f.values[i];
      if (typeof row.time === 'number') row.time = new Date(row.time).toISOString();
      if (isEvent(row)) out.push(row);
    }
  }
  return out;
}

/** Wraps a Faultline DataSource instance; throws if it is not one. */
export function fromDataSource(ds: unknown): FaultlineApi {
  const d = ds as Record<string, AnyFn | undefined>;
  const method = (...names: string[]): AnyFn => {
    for (const n of names) {
      const fn = d[n];
      if (typeof fn === 'function') return fn.bind(ds) as AnyFn;
    }
    throw new PanelError(
      'failed',
      'Not a Faultline data source',
      `The chosen data source has no ${names[0]}(). Pick a Faultline data source in the panel options.`,
    );
  };
  // Resolve every method now, so a wrong data source is reported once, at load.
  const listExperiments = method('listExperiments');
  const listKinds = method('listKinds');
  const listTargets = method('listTargets');
  const createExperiment = method('createExperiment');
  const pause = method('pauseExperiment', 'pause');
  const resume = method('resumeExperiment', 'resume');
  const stop = method('stopExperiment', 'stop');
  const remove = method('deleteExperiment', 'delete', 'remove');
  const stopAll = method('stopAll');
  const streamEvents = method('streamEvents');
  const listEvents = typeof d.listEvents === 'function' ? (d.listEvents.bind(ds) as AnyFn) : undefined;
  const proxied = proxiedRequest(ds);
  const workflowPath = (ns: string, name: string) => `/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  return {
    listExperiments: async () => items<Experiment>(await listExperiments()),
    listKinds: async () => items<KindInfo>(await listKinds()),
    listTargets: async () => items<TargetInfo>(await listTargets()),
    createExperiment: async (input) => (await createExperiment(input)) as Experiment,
    pause: async (ns, name) => pause(ns, name),
    resume: async (ns, name) => resume(ns, name),
    stop: async (ns, name) => stop(ns, name),
    remove: async (ns, name) => remove(ns, name),
    stopAll: async () => stopAll(),
    recentEvents: async (limit) => {
      if (!listEvents) return [];
      // The exporter pages oldest first from a cursor: a short window keeps the newest within one page.
      const page = await listEvents({ from: String(Date.now() - 15 * 60_000), limit: 1000 });
      return items<FaultlineEvent>(page)
        .sort((a, b) => Number(b.id) - Number(a.id))
        .slice(0, limit);
    },
    events: () => from(streamEvents() as ObservableInput<unknown>).pipe(mergeMap((v) => eventsFrom(v))),
    listWorkflows: async () => items<Workflow>(await proxied('GET', '/workflows')),
    abortWorkflow: async (ns, name) => proxied('POST', `${workflowPath(ns, name)}/abort`, {}),
    freezeState: async () => (await proxied('GET', '/freeze')) as FreezeState,
    freeze: async (request) => (await proxied('POST', '/freeze', request)) as FreezeState,
    unfreeze: async () => proxied('DELETE', '/freeze'),
  };
}

/**
 * Workflows and the freeze have no data source method (yet): call the same proxy route the data
 * source's own methods use (`apiBase` = <proxy url>/api/v1), so Grafana's roles and token apply alike.
 */
function proxiedRequest(ds: unknown): (method: string, path: string, data?: unknown) => Promise<unknown> {
  const apiBase = (ds as { apiBase?: unknown }).apiBase;
  return async (method, path, data) => {
    if (typeof apiBase !== 'string') {
      throw new PanelError('failed', 'Not a Faultline data source', 'The chosen data source has no Faultline proxy URL. Pick a Faultline data source in the panel options.');
    }
    try {
      const response = await lastValueFrom(
        getBackendSrv().fetch<unknown>({ method, url: `${apiBase}${path}`, data, showErrorAlert: false, showSuccessAlert: false }),
      );
      return response.data;
    } catch (err) {
      throw toApiError(err);
    }
  };
}

/** The Faultline data source named in the options (uid or name, variables already replaced), or the first one. */
export async function resolveApi(ref: string): Promise<FaultlineApi> {
  const srv = getDataSourceSrv();
  let target = ref.trim();
  if (!target) {
    const first = srv.getList({ pluginId: DATASOURCE_PLUGIN_ID })[0];
    if (!first) {
      throw new PanelError('failed', 'No Faultline data source', 'Add a Faultline data source (Connections → Data sources), then pick it in the panel options.');
    }
    target = first.uid;
  }
  let ds: unknown;
  try {
    ds = await srv.get(target);
  } catch (err) {
    throw new PanelError('failed', 'Data source not found', `There is no data source "${target}". Pick a Faultline data source in the panel options.${err instanceof Error ? ` (${err.message})` : ''}`);
  }
  return fromDataSource(ds);
}

