import type { DataQuery, DataSourceJsonData } from '@grafana/schema';

// Query model, options and the exporter's list shapes as the browser sees them. The wire types of
// Experiment and Event come from api/ (the one source of wire shapes).

export type { Experiment, ExperimentInput, Phase } from '../../api/experiment';
export type { FaultlineEvent } from '../../api/events';

/** What a query returns; `annotations` is set by the annotation support, not offered in the editor. */
export type QueryType = 'experiments' | 'events' | 'active' | 'live' | 'annotations';

export const QUERY_TYPES: ReadonlyArray<{ value: Exclude<QueryType, 'annotations'>; label: string; description: string }> = [
  { value: 'experiments', label: 'Experiments', description: 'table: name, namespace, kind, phase, targets, started, ends' },
  { value: 'events', label: 'Events', description: 'state changes as log lines, for the dashboard range' },
  { value: 'active', label: 'Active faults', description: 'time series: running experiments by kind' },
  { value: 'live', label: 'Live events', description: 'events as they happen (Server-Sent Events)' },
];

/** Filters shared by queries, annotations and variables; every one takes template variables. */
export interface FaultlineFilters {
  namespace?: string;
  kind?: string;
  experiment?: string;
  phase?: string;
  target?: string;
}

export interface FaultlineQuery extends DataQuery, FaultlineFilters {
  queryType?: QueryType;
  /** Events only: one event type (created, injected, aborted, ...). */
  eventType?: string;
  /** Events and live: at most this many rows. */
  limit?: number;
}

export const DEFAULT_QUERY: Partial<FaultlineQuery> = { queryType: 'experiments' };
export const DEFAULT_ANNOTATION_QUERY: Partial<FaultlineQuery> = { queryType: 'annotations' };
export const DEFAULT_EVENT_LIMIT = 1000;
export const DEFAULT_LIVE_CAPACITY = 500;

/**
 * jsonData: visible to every user of the data source, so no secrets here. The exporter URL is the
 * data source's own URL (top-level `url`, as Grafana's HTTP data sources keep it); the proxy
 * routes in plugin.json append /api/v1 to it.
 */
export interface FaultlineOptions extends DataSourceJsonData {
  /** Namespace used when a query leaves it empty; empty = all namespaces. */
  defaultNamespace?: string;
}

/** secureJsonData: encrypted by Grafana, only the proxy reads it (route header). */
export interface FaultlineSecureOptions {
  apiToken?: string;
}

export type VariableFind = 'namespaces' | 'kinds' | 'experiments' | 'targets' | 'phases';

export const VARIABLE_FINDS: ReadonlyArray<{ value: VariableFind; label: string }> = [
  { value: 'namespaces', label: 'Namespaces' },
  { value: 'kinds', label: 'Fault kinds' },
  { value: 'experiments', label: 'Experiments' },
  { value: 'targets', label: 'Targets' },
  { value: 'phases', label: 'Phases' },
];

export interface FaultlineVariableQuery extends DataQuery {
  find: VariableFind;
  /** Experiments only: restrict to a namespace (template variables allowed). */
  namespace?: string;
}

/** GET /api/v1/kinds and /api/v1/targets entries, as on the wire. */
export type { KindInfo, TargetCandidate as TargetInfo } from '../../api/targets';

