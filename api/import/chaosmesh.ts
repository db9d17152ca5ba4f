import { API_VERSION, TARGET_MODES, type ExperimentInput, type TargetMode } from '../experiment';

// Chaos Mesh → Faultline. Turns PodChaos, NetworkChaos, StressChaos, IOChaos, HTTPChaos and Schedule
// documents (chaos-mesh.org/v1alpha1) into Faultline Experiment documents. Pure and browser-safe, so the
// CLI (`faultline import`, `faultline apply`) and the panel can share it.
//
// The rule: nothing is dropped in silence. Every field of the source is either mapped, or named in
// `unmapped` with the reason; a document whose fault has no Faultline equivalent yields no experiment
// and one `unmapped` entry on its `spec` (or the action) saying why.

export const CHAOS_MESH_API = 'chaos-mesh.org/v1alpha1';
export const CHAOS_MESH_KINDS = ['PodChaos', 'NetworkChaos', 'StressChaos', 'IOChaos', 'HTTPChaos', 'Schedule'] as const;

export interface Unmapped {
  /** `Kind/namespace/name` of the source document. */
  document: string;
  /** JSON pointer into the source document, e.g. /spec/delay/reorder. */
  field: string;
  reason: string;
}

export interface ImportResult {
  experiments: ExperimentInput[];
  unmapped: Unmapped[];
  /** Values Faultline filled in that the source did not have (e.g. a duration for pod-kill). */
  notes: Unmapped[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a parsed YAML/JSON document is a Chaos Mesh resource this module knows. */
export function isChaosMeshDocument(doc: unknown): boolean {
  return isObj(doc) && typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('chaos-mesh.org/');
}

/** Selector fields that carry over one to one (Faultline's Kubernetes selector took Chaos Mesh's names). */
const SELECTOR_FIELDS = [
  'namespaces', 'labelSelectors', 'expressionSelectors', 'annotationSelectors', 'fieldSelectors',
  'podPhaseSelectors', 'nodes', 'nodeSelectors', 'pods',
] as const;

const MODES: readonly string[] = TARGET_MODES;

/** Default when a Chaos Mesh action is instantaneous (pod-kill, container-kill) and has no duration. */
const INSTANT_DURATION = '30s';

class Converter {
  readonly result: ImportResult = { experiments: [], unmapped: [], notes: [] };

  convert(doc: unknown, index: number): void {
    if (!isObj(doc)) {
      this.result.unmapped.push({ document: `document ${index + 1}`, field: '/', reason: 'is not an object' });
      return;
    }
    const kind = String(doc.kind ?? '');
    const md = isObj(doc.metadata) ? doc.metadata : {};
    const ref = `${kind || '?'}/${String(md.namespace ?? 'default')}/${String(md.name ?? '?')}`;
    const ctx = new DocContext(this.result, ref);
    if (!isChaosMeshDocument(doc)) return ctx.miss('/apiVersion', `is not ${CHAOS_MESH_API}`);
    if (!(CHAOS_MESH_KINDS as readonly string[]).includes(kind)) return ctx.miss('/kind', `${kind || 'no kind'} has no Faultline equivalent (known: ${CHAOS_MESH_KINDS.join(', ')})`);
    if (typeof md.name !== 'string') return ctx.miss('/metadata/name', 'is required');
    ctx.checkKeys(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    ctx.checkKeys(md, '/metadata', ['name', 'namespace', 'labels', 'annotations', 'uid', 'creationTimestamp', 'resourceVersion', 'generation', 'managedFields']);
    const spec = isObj(doc.spec) ? doc.spec : {};
    const base: Omit<ExperimentInput, 'spec'> = {
      apiVersion: API_VERSION,
      kind: 'Experiment',
      metadata: {
        name: md.name,
        ...(typeof md.namespace === 'string' ? { namespace: md.namespace } : {}),
        ...(isObj(md.labels) ? { labels: md.labels as Record<string, string> } : {}),
        annotations: { ...(isObj(md.annotations) ? (md.annotations as Record<string, string>) : {}), 'faultline.dev/imported-from': `${kind}/${md.name}` },
      },
    };
    if (kind === 'Schedule') return this.schedule(ctx, base, spec);
    for (const exp of this.chaos(ctx, kind, spec, '/spec')) this.result.experiments.push({ ...base, spec: exp.spec, metadata: { ...base.metadata, name: exp.name } } as ExperimentInput);
  }

  private schedule(ctx: DocContext, base: Omit<ExperimentInput, 'spec'>, spec: Obj): void {
    const type = String(spec.type ?? '');
    const key = type ? type.charAt(0).toLowerCase() + type.slice(1) : '';
    ctx.checkKeys(spec, '/spec', ['schedule', 'concurrencyPolicy', 'historyLimit', 'type', 'startingDeadlineSeconds', key]);
    if (!type || !(CHAOS_MESH_KINDS as readonly string[]).includes(type) || type === 'Schedule') {
      return ctx.miss('/spec/type', type === 'Workflow' ? 'scheduled Workflows have no Faultline equivalent yet' : `${type || 'no type'} cannot be scheduled by Faultline`);
    }
    if (spec.startingDeadlineSeconds !== undefined) ctx.miss('/spec/startingDeadlineSeconds', 'Faultline starts a missed run at once or skips it; no deadline setting');
    const inner = isObj(spec[key]) ? (spec[key] as Obj) : {};
    const policy = spec.concurrencyPolicy === undefined ? undefined : String(spec.concurrencyPolicy);
    if (policy !== undefined && policy !== 'Forbid' && policy !== 'Allow') ctx.miss('/spec/concurrencyPolicy', `${policy} is not Forbid or Allow`);
    for (const exp of this.chaos(ctx, type, inner, `/spec/${key}`)) {
      exp.spec.schedule = String(spec.schedule ?? '');
      if (policy === 'Forbid' || policy === 'Allow') exp.spec.concurrencyPolicy = policy;
      if (typeof spec.historyLimit === 'number') exp.spec.historyLimit = spec.historyLimit;
      this.result.experiments.push({ ...base, spec: exp.spec, metadata: { ...base.metadata, name: exp.name } } as ExperimentInput);
    }
  }

  /** One Chaos Mesh chaos spec → zero or more experiments (StressChaos may give a CPU and a memory one). */
  private chaos(ctx: DocContext, kind: string, spec: Obj, at: string): { name: string; spec: ExperimentInput['spec'] }[] {
    const name = ctx.name();
    const targets = this.targets(ctx, spec, at);
    const duration = typeof spec.duration === 'string' ? spec.duration : undefined;
    const make = (suffix: string, fault: { kind: string; params: Obj }, dur = duration) => {
      if (!dur) ctx.note(`${at}/duration`, `none given; Faultline needs one, so ${INSTANT_DURATION} is used`);
      return { name: suffix ? `${name}-${suffix}`.slice(0, 63) : name, spec: { fault, targets, duration: dur ?? INSTANT_DURATION } as ExperimentInput['spec'] };
    };
    const common = ['selector', 'mode', 'value', 'duration', 'containerNames', 'remoteCluster'];
    if (spec.remoteCluster !== undefined) ctx.miss(`${at}/remoteCluster`, 'Faultline acts on the cluster its exporter runs in');
    switch (kind) {
      case 'PodChaos': {
        ctx.checkKeys(spec, at, [...common, 'action', 'gracePeriod']);
        const action = String(spec.action ?? '');
        if (action === 'pod-kill') return [make('', { kind: 'pod-kill', params: typeof spec.gracePeriod === 'number' ? { gracePeriodSeconds: spec.gracePeriod } : {} })];
        if (action === 'pod-failure') return [make('', { kind: 'pod-failure', params: {} })];
        if (action === 'container-kill') return [make('', { kind: 'container-kill', params: {} })];
        ctx.miss(`${at}/action`, `${action || 'no action'} is not pod-kill, pod-failure or container-kill`);
        return [];
      }
      case 'NetworkChaos':
        return this.network(ctx, spec, at, common, make);
      case 'StressChaos': {
        ctx.checkKeys(spec, at, [...common, 'stressors', 'stressngStressors']);
        if (spec.stressngStressors !== undefined) ctx.miss(`${at}/stressngStressors`, 'raw stress-ng options are not run by Faultline; use stressors.cpu / stressors.memory');
        const s = isObj(spec.stressors) ? spec.stressors : {};
        ctx.checkKeys(s, `${at}/stressors`, ['cpu', 'memory']);
        const out = [];
        const both = isObj(s.cpu) && isObj(s.memory);
        if (isObj(s.cpu)) {
          ctx.checkKeys(s.cpu, `${at}/stressors/cpu`, ['workers', 'load', 'options']);
          if (s.cpu.options !== undefined) ctx.miss(`${at}/stressors/cpu/options`, 'stress-ng options are not run by Faultline');
          out.push(make(both ? 'cpu' : '', { kind: 'cpu-stress', params: pick(s.cpu, ['workers', 'load']) }));
        }
        if (isObj(s.memory)) {
          ctx.checkKeys(s.memory, `${at}/stressors/memory`, ['workers', 'size', 'options', 'oomScoreAdj']);
          for (const f of ['options', 'oomScoreAdj']) if (s.memory[f] !== undefined) ctx.miss(`${at}/stressors/memory/${f}`, 'not supported by Faultline\'s memory stressor');
          out.push(make(both ? 'memory' : '', { kind: 'memory-stress', params: { ...pick(s.memory, ['workers']), size: normalizeSize(String(s.memory.size ?? '')) } }));
        }
        if (out.length === 0) ctx.miss(`${at}/stressors`, 'needs cpu or memory');
        return out;
      }
      case 'IOChaos':
        // Nothing of it runs, so every fault-specific field is named too, not just the action.
        ctx.checkKeys(spec, at, [...common, 'action']);
        ctx.miss(`${at}/action`, `IOChaos ${String(spec.action ?? '')} injects into the file system through a FUSE sidecar; Faultline has no matching kind (disk-fill and disk-io-stress load the disk but do not make calls slow or fail)`);
        return [];
      case 'HTTPChaos':
        return this.http(ctx, spec, at, common, make);
    }
    return [];
  }

  private targets(ctx: DocContext, spec: Obj, at: string): ExperimentInput['spec']['targets'] {
    const sel = isObj(spec.selector) ? spec.selector : {};
    ctx.checkKeys(sel, `${at}/selector`, [...SELECTOR_FIELDS]);
    const selector: Obj = pick(sel, [...SELECTOR_FIELDS]);
    if (Array.isArray(spec.containerNames)) selector.containerNames = spec.containerNames;
    const mode = spec.mode === undefined ? 'all' : String(spec.mode);
    if (!MODES.includes(mode)) ctx.miss(`${at}/mode`, `${mode} is not one of ${MODES.join(', ')}`);
    return {
      selector: selector as never,
      mode: (MODES.includes(mode) ? mode : 'all') as TargetMode,
      ...(spec.value !== undefined ? { value: String(spec.value) } : {}),
    };
  }

  private network(ctx: DocContext, spec: Obj, at: string, common: string[], make: MakeFn) {
    const action = String(spec.action ?? '');
    ctx.checkKeys(spec, at, [...common, 'action', 'direction', 'target', 'externalTargets', 'device', 'delay', 'loss', 'duplicate', 'corrupt', 'bandwidth', 'rate']);
    if (spec.device !== undefined) ctx.note(`${at}/device`, 'mapped to selector.interface');
    const direction = spec.direction === undefined ? 'both' : ({ to: 'egress', from: 'ingress', both: 'both' } as Record<string, string>)[String(spec.direction)];
    if (!direction) ctx.miss(`${at}/direction`, `${String(spec.direction)} is not to, from or both`);
    const peers = Array.isArray(spec.externalTargets) ? spec.externalTargets.map(String) : undefined;
    if (spec.target !== undefined) ctx.miss(`${at}/target`, 'a pod selector as the other side of the traffic is not resolved into addresses by Faultline; list the peers as externalTargets (CIDRs)');
    if (peers?.some((p) => !/^[0-9a-fA-F.:/]+$/.test(p))) ctx.miss(`${at}/externalTargets`, 'host names are not resolved; give IP addresses or CIDRs');
    const tcOnly = action !== 'partition' && action !== 'loss';
    if (tcOnly && (spec.direction !== undefined && spec.direction !== 'to')) ctx.miss(`${at}/direction`, 'tc-based kinds shape egress only; ingress is not mapped');
    if (tcOnly && peers) ctx.miss(`${at}/externalTargets`, 'tc-based kinds act on the whole interface; per-peer filtering is not mapped');
    const withIface = (r: ReturnType<MakeFn>) => {
      if (typeof spec.device === 'string' && r.spec.targets) (r.spec.targets.selector as Obj).interface = spec.device;
      return r;
    };
    const sub = (key: string, fields: string[]) => {
      const v = isObj(spec[key]) ? (spec[key] as Obj) : {};
      ctx.checkKeys(v, `${at}/${key}`, fields);
      return v;
    };
    switch (action) {
      case 'delay': {
        const d = sub('delay', ['latency', 'jitter', 'correlation', 'reorder']);
        if (d.reorder !== undefined) ctx.miss(`${at}/delay/reorder`, 'map it as its own network-reorder experiment');
        return [withIface(make('', { kind: 'network-delay', params: { latency: d.latency, ...(d.jitter ? { jitter: d.jitter } : {}), ...percentField(d, 'correlation', 'correlation') } }))];
      }
      case 'loss': {
        const l = sub('loss', ['loss', 'correlation']);
        if (l.correlation !== undefined && Number(l.correlation) !== 0) ctx.miss(`${at}/loss/correlation`, 'nft loss is independent per packet; correlation is not mapped');
        return [withIface(make('', { kind: 'network-loss', params: { ...percentField(l, 'loss', 'percent'), direction: direction ?? 'both', ...(peers ? { peers } : {}) } }))];
      }
      case 'duplicate':
      case 'corrupt': {
        const v = sub(action, [action, 'correlation']);
        return [withIface(make('', { kind: `network-${action}`, params: { ...percentField(v, action, 'percent'), ...percentField(v, 'correlation', 'correlation') } }))];
      }
      case 'partition':
        if (!peers?.length) {
          ctx.miss(`${at}/externalTargets`, 'Faultline partitions from listed peers; none given');
          return [];
        }
        return [withIface(make('', { kind: 'network-partition', params: { peers, direction: direction ?? 'both' } }))];
      case 'bandwidth': {
        const b = sub('bandwidth', ['rate', 'limit', 'buffer', 'peakrate', 'minburst']);
        for (const f of ['peakrate', 'minburst']) if (b[f] !== undefined) ctx.miss(`${at}/bandwidth/${f}`, 'tbf peak rate is not mapped');
        return [withIface(make('', {
          kind: 'network-bandwidth',
          params: { rate: String(b.rate ?? ''), ...(b.limit !== undefined ? { limit: String(b.limit) } : {}), ...(b.buffer !== undefined ? { burst: String(b.buffer) } : {}) },
        }))];
      }
      default:
        ctx.miss(`${at}/action`, `${action || 'no action'} is not delay, loss, duplicate, corrupt, partition or bandwidth`);
        return [];
    }
  }

  private http(ctx: DocContext, spec: Obj, at: string, common: string[], make: MakeFn) {
    ctx.checkKeys(spec, at, [...common, 'target', 'port', 'path', 'method', 'code', 'request_headers', 'response_headers', 'abort', 'delay', 'replace', 'patch', 'tls']);
    if (spec.target !== undefined && spec.target !== 'Request') ctx.note(`${at}/target`, 'Faultline\'s HTTP proxy sees request and response; Response rules apply to the answer');
    if (spec.code !== undefined) ctx.miss(`${at}/code`, 'matching on the response code is not supported');
    if (spec.response_headers !== undefined) ctx.miss(`${at}/response_headers`, 'matching on response headers is not supported');
    if (spec.patch !== undefined) ctx.miss(`${at}/patch`, 'patching (appending) is not supported; use replace');
    if (spec.tls !== undefined) ctx.miss(`${at}/tls`, 'TLS interception is not supported');
    const match: Obj = {};
    if (typeof spec.method === 'string') match.methods = [spec.method];
    if (typeof spec.path === 'string') match.path = spec.path;
    if (isObj(spec.request_headers)) match.headers = Object.fromEntries(Object.entries(spec.request_headers).map(([k, v]) => [k, escapeRegex(String(v))]));
    const params: Obj = { port: spec.port, ...(Object.keys(match).length ? { match } : {}) };
    if (spec.abort === true) params.abort = { status: 503, percent: 100 };
    if (typeof spec.delay === 'string') params.delay = { latency: spec.delay };
    if (isObj(spec.replace)) {
      const r = spec.replace;
      ctx.checkKeys(r, `${at}/replace`, ['code', 'headers', 'body', 'path', 'method', 'queries']);
      for (const f of ['path', 'method', 'queries']) if (r[f] !== undefined) ctx.miss(`${at}/replace/${f}`, 'rewriting the request is not supported; only the response');
      params.replace = {
        ...(r.code !== undefined ? { status: r.code } : {}),
        ...(isObj(r.headers) ? { headers: r.headers } : {}),
        ...(typeof r.body === 'string' ? { body: decodeBase64(r.body) } : {}),
      };
    }
    return [make('', { kind: 'http-fault', params })];
  }
}

type MakeFn = (suffix: string, fault: { kind: string; params: Obj }, dur?: string) => { name: string; spec: ExperimentInput['spec'] };

class DocContext {
  constructor(private readonly result: ImportResult, readonly ref: string) {}
  name(): string {
    return this.ref.split('/')[2];
  }
  miss(field: string, reason: string): void {
    this.result.unmapped.push({ document: this.ref, field, reason });
  }
  note(field: string, reason: string): void {
    this.result.notes.push({ document: this.ref, field, reason });
  }
  /** Every key not in `known` is named as unmapped (never dropped in silence). */
  checkKeys(obj: Obj, at: string, known: readonly string[]): void {
    for (const k of Object.keys(obj)) if (!known.includes(k)) this.miss(`${at}/${k}`, 'is not a field Faultline maps');
  }
}

function pick(o: Obj, keys: readonly string[]): Obj {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/** Chaos Mesh writes percents as strings ("25"); Faultline as numbers. */
function percentField(o: Obj, from: string, to: string): Obj {
  return o[from] === undefined ? {} : { [to]: Number(o[from]) };
}

/** Chaos Mesh sizes are "256MB" / "1GB" (go-units, decimal) or "25%". */
function normalizeSize(s: string): string {
  return s.trim();
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** HTTPChaos replace.body is base64 ([]byte in Go's JSON). */
function decodeBase64(s: string): string {
  try {
    const bin = atob(s);
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return s;
  }
}

/** Converts every document; experiments are not yet validated (the server does that, naming fields). */
export function importChaosMesh(docs: unknown[]): ImportResult {
  const c = new Converter();
  docs.forEach((d, i) => c.convert(d, i));
  return c.result;
}
