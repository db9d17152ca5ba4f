import {
  CircularDataFrame,
  DataSourceApi,
  FieldType,
  LoadingState,
  type AnnotationSupport,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from '@grafana/data';
import { getTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { map, merge, Observable, of, filter as rxFilter, from as rxFrom, catchError } from 'rxjs';
import { ApiError } from '../../api/errors';
import { PHASES } from '../../api/experiment';
import {
  DEFAULT_ANNOTATION_QUERY,
  DEFAULT_EVENT_LIMIT,
  DEFAULT_LIVE_CAPACITY,
  DEFAULT_QUERY,
  type Experiment,
  type FaultlineEvent,
  type FaultlineOptions,
  type FaultlineQuery,
  type FaultlineVariableQuery,
} from './types';
import { matchesEvent, matchesExperiment, resolveFilters, serverParams, interpolateValues, type ResolvedFilters } from './filters';
import { activeFaultsFrames, annotationsFrame, eventLabels, eventLevel, eventLine, eventsFrame, experimentsFrame } from './frames';
import { mergeRuns, runsFromEvents, type Run } from './runs';
import { FaultlineClient, type EventQuery } from '../client/client';
import { toApiError } from '../client/errors';
import { FaultlineVariableSupport } from './variables';
import { AnnotationEditor } from './components/AnnotationEditor';

/** Most events one query reads (pages of the exporter's maximum page size). */
const MAX_EVENTS = 10000;
const PAGE_SIZE = 5000;

/**
 * The Faultline data source: queries, annotations, variables and Save & test. It talks to the
 * exporter through `client` (src/client/), the same client the panel and the app page use; live
 * queries share the data source's one event stream with them.
 */
export class DataSource extends DataSourceApi<FaultlineQuery, FaultlineOptions> {
  readonly client: FaultlineClient;
  readonly defaultNamespace?: string;

  constructor(
    instanceSettings: DataSourceInstanceSettings<FaultlineOptions>,
    private readonly templateSrv: TemplateSrv = getTemplateSrv(),
  ) {
    super(instanceSettings);
    this.client = new FaultlineClient(instanceSettings.uid, instanceSettings.url);
    this.defaultNamespace = instanceSettings.jsonData?.defaultNamespace || undefined;
    this.variables = new FaultlineVariableSupport(this);
  }

  override annotations: AnnotationSupport<FaultlineQuery> = {
    QueryEditor: AnnotationEditor,
    getDefaultQuery: () => ({ ...DEFAULT_ANNOTATION_QUERY }),
    // Dashboards store the annotation's query in `target`; it always runs as an annotations query.
    prepareQuery: (anno) => ({ ...DEFAULT_ANNOTATION_QUERY, ...(anno.target ?? {}), refId: anno.target?.refId ?? 'Anno', queryType: 'annotations' }),
  };

  override getDefaultQuery(): Partial<FaultlineQuery> {
    return { ...DEFAULT_QUERY };
  }

  override filterQuery(query: FaultlineQuery): boolean {
    return !query.hide;
  }

  /** For Explore and dashboard links: the query with its variables filled in. */
  override interpolateVariablesInQueries(queries: FaultlineQuery[], scopedVars: ScopedVars): FaultlineQuery[] {
    const text = (v?: string) => (v ? this.templateSrv.replace(v, scopedVars, 'csv') : v);
    return queries.map((q) => ({
      ...q,
      namespace: text(q.namespace),
      kind: text(q.kind),
      experiment: text(q.experiment),
      phase: text(q.phase),
      target: text(q.target),
      eventType: text(q.eventType),
    }));
  }

  // ---------------------------------------------------------------- queries

  query(request: DataQueryRequest<FaultlineQuery>): Observable<DataQueryResponse> {
    const targets = request.targets.filter((t) => !t.hide);
    if (targets.length === 0) return of({ data: [], state: LoadingState.Done });
    const streams = targets.map((q) => {
      const filters = resolveFilters(this.templateSrv, q, request.scopedVars, this.defaultNamespace);
      if (q.queryType === 'live') return this.liveQuery(q, filters, request.scopedVars);
      return rxFrom(this.runQuery(q, filters, request)).pipe(
        map((data): DataQueryResponse => ({ data, key: q.refId, state: LoadingState.Done })),
        catchError((err: unknown) => of<DataQueryResponse>({ data: [], key: q.refId, state: LoadingState.Error, errors: [{ message: queryErrorMessage(toApiError(err)), refId: q.refId }] })),
      );
    });
    return merge(...streams);
  }

  private async runQuery(q: FaultlineQuery, filters: ResolvedFilters, request: DataQueryRequest<FaultlineQuery>): Promise<DataFrame[]> {
    const from = request.range.from.valueOf();
    const to = request.range.to.valueOf();
    switch (q.queryType ?? 'experiments') {
      case 'experiments':
        return [experimentsFrame(q.refId, await this.experimentsMatching(filters))];
      case 'events': {
        const eventType = interpolateValues(this.templateSrv, q.eventType, request.scopedVars);
        const events = await this.eventsInRange(filters, from, to, eventType, q.limit ?? DEFAULT_EVENT_LIMIT);
        return [eventsFrame(q.refId, events)];
      }
      case 'active': {
        const runs = await this.runsInRange(filters, from, to);
        const step = Math.max(request.intervalMs || 0, (to - from) / Math.max(request.maxDataPoints || 1000, 1));
        return activeFaultsFrames(q.refId, runs, from, to, step);
      }
      case 'annotations':
        return [annotationsFrame(q.refId, await this.runsInRange(filters, from, to), Date.now(), this.uid)];
      default:
        throw new ApiError(400, 'invalid_input', `unknown query type "${String(q.queryType)}"`);
    }
  }

  private async experimentsMatching(filters: ResolvedFilters): Promise<Experiment[]> {
    const items = await this.client.listExperiments(serverParams(filters));
    return items.filter((e) => matchesExperiment(filters, e));
  }

  private async eventsInRange(filters: ResolvedFilters, from: number, to: number, types?: string[], limit = MAX_EVENTS): Promise<FaultlineEvent[]> {
    const base: EventQuery = { ...serverParams(filters, ['namespace', 'kind', 'experiment']), from, to };
    if (types?.length === 1) base.type = types[0];
    const out: FaultlineEvent[] = [];
    let after: number | undefined;
    while (out.length < Math.min(limit, MAX_EVENTS)) {
      const page = await this.client.listEvents({ ...base, after, limit: Math.min(PAGE_SIZE, limit - out.length) });
      out.push(...page.items.filter((ev) => matchesEvent(filters, ev) && (!types || types.includes(ev.type))));
      if (!page.nextCursor || page.items.length === 0) break;
      after = Number(page.nextCursor);
    }
    return out.slice(0, limit);
  }

  /** Runs that overlap [from, to]: from the events in range and the experiments' current status. */
  async runsInRange(filters: ResolvedFilters, from: number, to: number): Promise<Run[]> {
    const [events, experiments] = await Promise.all([this.eventsInRange({ ...filters, phase: undefined }, from, to), this.experimentsMatching({ ...filters, phase: undefined })]);
    const runs = mergeRuns(runsFromEvents(events, from), experiments, { from, to });
    const wanted = (r: Run) =>
      (!filters.phase || filters.phase.some((p) => p.toLowerCase() === r.outcome)) &&
      (!filters.target || r.targets.some((t) => filters.target!.some((v) => t.includes(v))));
    return runs.filter((r) => r.start <= to && (r.end ?? Infinity) >= from && wanted(r));
  }

  private liveQuery(q: FaultlineQuery, filters: ResolvedFilters, _scopedVars?: ScopedVars): Observable<DataQueryResponse> {
    const frame = new CircularDataFrame({ append: 'tail', capacity: q.limit ?? DEFAULT_LIVE_CAPACITY });
    frame.refId = q.refId;
    frame.name = 'live events';
    frame.meta = { preferredVisualisationType: 'logs' };
    frame.addField({ name: 'time', type: FieldType.time });
    for (const name of ['body', 'level', 'id', 'type', 'experiment', 'namespace', 'kind', 'target', 'phase', 'actor']) frame.addField({ name, type: FieldType.string });
    frame.addField({ name: 'labels', type: FieldType.other });
    // The data source's one shared stream (every event); this query's filters apply here.
    return this.client.events().pipe(
      rxFilter((ev) => matchesEvent(filters, ev)),
      map((ev): DataQueryResponse => {
        frame.add({
          time: Date.parse(ev.time),
          body: eventLine(ev),
          level: eventLevel(ev.type),
          id: String(ev.id),
          type: ev.type,
          experiment: ev.experiment ?? '',
          namespace: ev.namespace ?? '',
          kind: ev.kind ?? '',
          target: ev.target ?? '',
          phase: ev.phase ?? '',
          actor: ev.actor ?? '',
          labels: eventLabels(ev),
        });
        return { data: [frame], key: q.refId, state: LoadingState.Streaming };
      }),
    );
  }

  /** Values for dashboard variables (see VariableQueryEditor). */
  override async metricFindQuery(query: FaultlineVariableQuery, options?: { scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const values = (list: string[]) => [...new Set(list)].sort().map((v) => ({ text: v, value: v }));
    switch (query.find) {
      case 'namespaces': {
        const experiments = await this.client.listExperiments();
        return values([...experiments.map((e) => e.metadata.namespace), ...(this.defaultNamespace ? [this.defaultNamespace] : [])]);
      }
      case 'kinds':
        return (await this.client.listKinds()).map((k) => ({ text: k.kind, value: k.kind }));
      case 'experiments': {
        const ns = interpolateValues(this.templateSrv, query.namespace, options?.scopedVars);
        const experiments = await this.client.listExperiments(ns?.length === 1 ? { namespace: ns[0] } : {});
        return values(experiments.filter((e) => !ns || ns.includes(e.metadata.namespace)).map((e) => e.metadata.name));
      }
      case 'targets':
        return values((await this.client.listTargets()).map((t) => t.description));
      case 'phases':
        return PHASES.map((p) => ({ text: p, value: p }));
      default:
        return [];
    }
  }

  // ---------------------------------------------------------------- save & test

  async testDatasource(): Promise<TestDataSourceResponse> {
    let health: Awaited<ReturnType<FaultlineClient['health']>>;
    try {
      health = await this.client.health();
    } catch (err) {
      return { status: 'error', message: explainTestFailure(toApiError(err)) };
    }
    if (!health || health.name !== 'faultline-exporter') {
      return {
        status: 'error',
        message: 'The URL answers, but it is not a Faultline exporter (GET /api/v1/health did not say name "faultline-exporter"). Check the URL and port (the exporter listens on 9470 by default).',
      };
    }
    // Health may be public: read something that needs a token to prove the token works.
    try {
      await this.client.listKinds();
    } catch (err) {
      return { status: 'error', message: explainTestFailure(toApiError(err)) };
    }
    // An emergency freeze is worth seeing where the data source is checked (issue: freeze).
    const freeze = health.freeze as { frozen?: boolean; reason?: string; actor?: string; since?: string; until?: string } | undefined;
    const frozen = freeze?.frozen
      ? ` Chaos is FROZEN since ${freeze.since} by ${freeze.actor}: ${freeze.reason}${freeze.until ? ` (until ${freeze.until})` : ''}; no experiment can start until it is lifted.`
      : '';
    return { status: 'success', message: `Connected to Faultline exporter ${health.version}; the API token is accepted.${frozen}` };
  }
}

/** A query's error as a panel shows it: what failed, in the user's terms. */
export function queryErrorMessage(err: ApiError): string {
  if (err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504) {
    return `The Faultline exporter cannot be reached from Grafana (${err.status || 'network error'}: ${err.message}). Check the data source URL.`;
  }
  if (err.status === 401) return `The Faultline exporter rejected the data source's API token (401: ${err.message}).`;
  if (err.status === 403) return `Not allowed (403: ${err.message}).`;
  return `Faultline: ${err.message}`;
}

/** Save & test: say which check failed and what to do about it. */
export function explainTestFailure(err: ApiError): string {
  if (err.status === 401) {
    return `The exporter rejected the API token (401: ${err.message}). Paste a valid token (faultline tokens have the roles viewer, operator or admin) and save again.`;
  }
  if (err.status === 403) {
    return `Forbidden (403: ${err.message}). If the exporter said it, use a token with at least the viewer role; if Grafana said it, your Grafana role may not use this data source.`;
  }
  if (err.status === 404) {
    return `The URL answers, but not like a Faultline exporter (404 on /api/v1). Check the URL and port (the exporter listens on 9470 by default).`;
  }
  if (err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504) {
    return `Grafana's server cannot reach the exporter (${err.status || 'network error'}: ${err.message}). Check the URL as the Grafana server sees it (in docker-compose: http://exporter:9470) and that the exporter runs.`;
  }
  return `The exporter answered ${err.status}: ${err.message}`;
}
