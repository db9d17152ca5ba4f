import { API_VERSION, TARGET_MODES, type ExperimentInput, type TargetMode } from '../experiment';
import { CLOCK_IDS } from '../kinds/time-skew';
import { parseDuration } from '../units';
import type { Step, WorkflowInput } from '../workflow';

// Chaos Mesh → Faultline. Turns PodChaos, NetworkChaos, StressChaos, IOChaos, HTTPChaos, DNSChaos,
// TimeChaos and Schedule documents (chaos-mesh.org/v1alpha1) into Faultline Experiment documents, and
// Workflows (Serial, Parallel, Suspend, StatusCheck, chaos and Schedule templates) into Faultline
// Workflows. Pure and browser-safe, so the CLI (`faultline import`, `faultline apply`) and the panel can
// share it.
//
// The rule: nothing is dropped in silence. Every field of the source is either mapped, or named in
// `unmapped` with the reason; a document whose fault has no Faultline equivalent yields no experiment
// and one `unmapped` entry on its `spec` (or the action) saying why.

export const CHAOS_MESH_API = 'chaos-mesh.org/v1alpha1';
/**
 * The field a Schedule or a workflow template holds a chaos spec in, as Chaos Mesh's EmbedChaos spells it:
 * the leading capitals lower-cased up to the next word (`PodChaos` → `podChaos`, `DNSChaos` → `dnsChaos`,
 * `HTTPChaos` → `httpChaos`, `IOChaos` → `ioChaos`, `Workflow` → `workflow`).
 */
export function embedKey(kind: string): string {
  const m = /^([A-Z]+)([A-Z][a-z].*)$/.exec(kind);
  return m ? m[1].toLowerCase() + m[2] : kind.charAt(0).toLowerCase() + kind.slice(1);
}

/** The chaos kinds (what a Schedule or a workflow template can hold). */
export const CHAOS_KINDS = ['PodChaos', 'NetworkChaos', 'StressChaos', 'IOChaos', 'HTTPChaos', 'DNSChaos', 'TimeChaos'] as const;
export const CHAOS_MESH_KINDS = [...CHAOS_KINDS, 'Schedule', 'Workflow'] as const;

export interface Unmapped {
  /** `Kind/namespace/name` of the source document. */
  document: string;
  /** JSON pointer into the source document, e.g. /spec/delay/reorder. */
  field: string;
  reason: string;
}

export interface ImportResult {
  experiments: ExperimentInput[];
  workflows: WorkflowInput[];
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
  readonly result: ImportResult = { experiments: [], workflows: [], unmapped: [], notes: [] };

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
    if (kind === 'Workflow') return this.workflow(ctx, base, spec, '/spec');
    for (const exp of this.chaos(ctx, kind, spec, '/spec')) this.result.experiments.push({ ...base, spec: exp.spec, metadata: { ...base.metadata, name: exp.name } } as ExperimentInput);
  }

  private schedule(ctx: DocContext, base: Omit<ExperimentInput, 'spec'>, spec: Obj): void {
    const type = String(spec.type ?? '');
    const key = embedKey(type);
    ctx.checkKeys(spec, '/spec', ['schedule', 'concurrencyPolicy', 'historyLimit', 'type', 'startingDeadlineSeconds', key]);
    if (type === 'Workflow') {
      // A Faultline workflow runs once: the workflow is converted, the cron rule is named as not carried over.
      for (const f of ['schedule', 'concurrencyPolicy', 'historyLimit', 'startingDeadlineSeconds']) {
        if (spec[f] !== undefined) ctx.miss(`/spec/${f}`, 'Faultline workflows run once when applied; a scheduled workflow is not carried over (run it from cron, or schedule its experiments)');
      }
      return this.workflow(ctx, base, isObj(spec.workflow) ? spec.workflow : {}, '/spec/workflow');
    }
    if (!type || !(CHAOS_KINDS as readonly string[]).includes(type)) return ctx.miss('/spec/type', `${type || 'no type'} cannot be scheduled by Faultline`);
    const fields = scheduleFields(ctx, spec, '/spec');
    const inner = isObj(spec[key]) ? (spec[key] as Obj) : {};
    const exps = this.chaos(ctx, type, inner, `/spec/${key}`);
    if (!fields) return;
    for (const exp of exps) this.result.experiments.push({ ...base, spec: { ...exp.spec, ...fields }, metadata: { ...base.metadata, name: exp.name } } as ExperimentInput);
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
      case 'DNSChaos': {
        ctx.checkKeys(spec, at, [...common, 'action', 'patterns']);
        const action = String(spec.action ?? '');
        if (action !== 'error' && action !== 'random') {
          ctx.miss(`${at}/action`, `${action || 'no action'} is not error or random`);
          return [];
        }
        const given = Array.isArray(spec.patterns) ? spec.patterns.map(String) : [];
        // Chaos Mesh without patterns faults every name (k8s_dns_chaos ScopeAll): Faultline's `*` is that
        const patterns = given.length ? given : ['*'];
        // Chaos Mesh's chaos DNS server (CoreDNS k8s_dns_chaos) answers a faulted name with SERVFAIL
        return [make('', { kind: 'dns-fault', params: { action, patterns, ...(action === 'error' ? { rcode: 'SERVFAIL' } : {}) } })];
      }
      case 'TimeChaos': {
        ctx.checkKeys(spec, at, [...common, 'timeOffset', 'clockIds']);
        const offset = typeof spec.timeOffset === 'string' ? spec.timeOffset.trim() : '';
        if (!offset) {
          ctx.miss(`${at}/timeOffset`, 'is required');
          return [];
        }
        const params: Obj = { offset };
        if (Array.isArray(spec.clockIds)) {
          const known = spec.clockIds.map(String).filter((c, i) => {
            if (c in CLOCK_IDS) return true;
            ctx.miss(`${at}/clockIds/${i}`, `${c} is not one of ${Object.keys(CLOCK_IDS).join(', ')}`);
            return false;
          });
          if (known.length) params.clocks = [...new Set(known)];
        }
        return [make('', { kind: 'time-skew', params })];
      }
    }
    return [];
  }

  /**
   * A Chaos Mesh Workflow → one Faultline Workflow. Templates are looked up from the entry: Serial and
   * Parallel become groups of their children, Suspend a suspend step, a chaos template an experiment step
   * (its deadline is how long the chaos runs, so it becomes the experiment's duration), a Schedule template
   * a scheduled experiment step ticking for its deadline, a Synchronous HTTP StatusCheck a check step. Task templates
   * (containers, conditional branches) have no equivalent and are named, with whatever only they reach.
   */
  private workflow(ctx: DocContext, base: Omit<ExperimentInput, 'spec'>, spec: Obj, at: string): void {
    ctx.checkKeys(spec, at, ['entry', 'templates']);
    const list = Array.isArray(spec.templates) ? spec.templates : [];
    const templates = new Map<string, { t: Obj; at: string }>();
    list.forEach((t, i) => {
      if (isObj(t) && typeof t.name === 'string') templates.set(t.name, { t, at: `${at}/templates/${i}` });
      else ctx.miss(`${at}/templates/${i}`, 'is not a template with a name');
    });
    const entry = typeof spec.entry === 'string' ? spec.entry : '';
    if (!templates.has(entry)) return ctx.miss(`${at}/entry`, entry ? `no template is named ${entry}` : 'is required');
    const used = new Set<string>();
    const root = this.step(ctx, templates, entry, `${at}/entry`, [], used);
    for (const [name, { at: tAt }] of templates) if (!used.has(name)) ctx.miss(tAt, `template ${name} is not reached from the entry`);
    if (!root) return ctx.miss(`${at}/entry`, 'nothing of the workflow could be converted');
    // a Serial entry is the workflow itself: its children are the top-level steps, its deadline the workflow's
    const top: WorkflowInput['spec'] = root.serial ? { steps: root.serial.steps, ...(root.deadline ? { deadline: root.deadline } : {}) } : { steps: [root] };
    this.result.workflows.push({ apiVersion: API_VERSION, kind: 'Workflow', metadata: base.metadata, spec: top } as WorkflowInput);
  }

  private step(ctx: DocContext, templates: Map<string, { t: Obj; at: string }>, name: string, ref: string, stack: string[], used: Set<string>): Step | undefined {
    const found = templates.get(name);
    if (!found) {
      ctx.miss(ref, `no template is named ${name}`);
      return undefined;
    }
    if (stack.includes(name)) {
      ctx.miss(ref, `template ${name} contains itself (${[...stack, name].join(' → ')})`);
      return undefined;
    }
    if (stack.length >= 16) {
      ctx.miss(ref, 'templates are nested more than 16 deep');
      return undefined;
    }
    used.add(name);
    const { t, at } = found;
    const type = String(t.templateType ?? '');
    const stepName = objectName(name);
    if (stepName !== name) ctx.note(`${at}/name`, `step named ${stepName} (Faultline names are lowercase letters, digits and dashes)`);
    const deadline = typeof t.deadline === 'string' ? t.deadline : undefined;
    const chaosKey = embedKey(type);
    ctx.checkKeys(t, at, ['name', 'templateType', 'deadline', 'children', 'abortWithStatusCheck', ...(type === 'Schedule' ? ['schedule'] : []), ...(type === 'StatusCheck' ? ['statusCheck'] : []), ...((CHAOS_KINDS as readonly string[]).includes(type) ? [chaosKey] : []), ...(type === 'Task' ? ['task', 'conditionalBranches'] : [])]);
    switch (type) {
      case 'Serial':
      case 'Parallel': {
        const children = Array.isArray(t.children) ? t.children.map(String) : [];
        if (children.length === 0) ctx.miss(`${at}/children`, 'a group needs children');
        const steps = uniqueNames(children.map((c, i) => this.step(ctx, templates, c, `${at}/children/${i}`, [...stack, name], used)).filter((s): s is Step => !!s));
        if (steps.length === 0) return undefined;
        if (deadline) ctx.note(`${at}/deadline`, 'Faultline fails a group that runs past its deadline (Chaos Mesh stops it and goes on)');
        return { name: stepName, ...(deadline ? { deadline } : {}), [type === 'Serial' ? 'serial' : 'parallel']: { steps } } as Step;
      }
      case 'Suspend':
        if (!deadline) {
          ctx.miss(`${at}/deadline`, 'a Suspend needs a deadline (how long to wait)');
          return undefined;
        }
        return { name: stepName, suspend: { duration: deadline } };
      case 'Schedule':
        return this.scheduleStep(ctx, t, at, stepName, deadline);
      case 'StatusCheck':
        return this.statusCheck(ctx, t, at, stepName, deadline);
      case 'Task':
        ctx.miss(at, `Task templates (a container whose result picks the next branch) have no Faultline equivalent; the branches of ${name} are left out`);
        if (Array.isArray(t.conditionalBranches)) for (const b of t.conditionalBranches) if (isObj(b) && typeof b.target === 'string') used.add(b.target);
        return undefined;
      default:
        if ((CHAOS_KINDS as readonly string[]).includes(type)) return this.chaosStep(ctx, type, isObj(t[chaosKey]) ? (t[chaosKey] as Obj) : {}, `${at}/${chaosKey}`, stepName, deadline);
        ctx.miss(`${at}/templateType`, `${type || 'no templateType'} has no Faultline equivalent`);
        return undefined;
    }
  }

  /** A chaos template: one experiment step, or a parallel group when it maps to several (StressChaos cpu + memory). */
  private chaosStep(ctx: DocContext, kind: string, spec: Obj, at: string, name: string, deadline: string | undefined): Step | undefined {
    // In a workflow the template's deadline is how long the chaos runs (the chaos has no duration of its own).
    const withDuration = spec.duration === undefined && deadline ? { ...spec, duration: deadline } : spec;
    const exps = this.chaos(ctx, kind, withDuration, at);
    if (exps.length === 0) return undefined;
    const stepOf = (e: { name: string; spec: ExperimentInput['spec'] }, n: string): Step => ({ name: n, experiment: { spec: e.spec } }) as Step;
    if (exps.length === 1) return stepOf(exps[0], name);
    return { name, parallel: { steps: exps.map((e, i) => stepOf(e, objectName(`${name}-${e.name.split('-').pop() ?? i}`))) } } as Step;
  }

  /**
   * A Schedule template: a scheduled experiment step. Its cron ticks for the template's deadline (the
   * step's deadline, which Faultline requires there), then the workflow stops the schedule and goes on,
   * as Chaos Mesh removes the Schedule at the node's deadline. Each run lasts the embedded chaos's
   * duration; without one, until the deadline (Chaos Mesh keeps such a chaos until its Schedule goes).
   */
  private scheduleStep(ctx: DocContext, t: Obj, at: string, name: string, deadline: string | undefined): Step | undefined {
    const sch = isObj(t.schedule) ? t.schedule : {};
    const inner = String(sch.type ?? '');
    const key = embedKey(inner);
    ctx.checkKeys(sch, `${at}/schedule`, ['schedule', 'concurrencyPolicy', 'historyLimit', 'type', 'startingDeadlineSeconds', key]);
    if (!(CHAOS_KINDS as readonly string[]).includes(inner)) {
      ctx.miss(`${at}/schedule/type`, `${inner || 'no type'} cannot run in a Faultline workflow step`);
      return undefined;
    }
    const fields = scheduleFields(ctx, sch, `${at}/schedule`);
    const spec = isObj(sch[key]) ? sch[key] : {};
    if (deadline && spec.duration === undefined) ctx.note(`${at}/schedule/${key}/duration`, `none given: each run lasts until the step's deadline (${deadline})`);
    const step = this.chaosStep(ctx, inner, spec, `${at}/schedule/${key}`, name, deadline);
    if (!deadline) {
      ctx.miss(`${at}/deadline`, 'a Schedule template needs a deadline: how long its schedule ticks inside the workflow');
      return undefined;
    }
    if (!step || !fields) return undefined;
    // every experiment step it gave (a StressChaos cpu + memory gives two) ticks on its own schedule for the deadline
    const schedule = (x: Step): Step =>
      x.experiment ? { ...x, deadline, experiment: { ...x.experiment, spec: { ...x.experiment.spec, ...fields } } } : { ...x, ...(x.parallel ? { parallel: { steps: x.parallel.steps.map(schedule) } } : {}) };
    return schedule(step);
  }

  /** A StatusCheck template: a Synchronous HTTP check maps onto a check step; Continuous ones run beside chaos and do not. */
  private statusCheck(ctx: DocContext, t: Obj, at: string, name: string, deadline: string | undefined): Step | undefined {
    const sc = isObj(t.statusCheck) ? t.statusCheck : {};
    ctx.checkKeys(sc, `${at}/statusCheck`, ['mode', 'type', 'http', 'intervalSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold', 'recordsHistoryLimit']);
    const mode = String(sc.mode ?? 'Synchronous');
    if (mode !== 'Synchronous') {
      ctx.miss(`${at}/statusCheck/mode`, `${mode} checks watch the whole run; Faultline's check step waits until its check passes (Synchronous) — guard the experiments with an alert instead`);
      return undefined;
    }
    if (sc.type !== undefined && sc.type !== 'HTTP') {
      ctx.miss(`${at}/statusCheck/type`, `${String(sc.type)} checks are not mapped; only HTTP`);
      return undefined;
    }
    const http = isObj(sc.http) ? sc.http : {};
    ctx.checkKeys(http, `${at}/statusCheck/http`, ['url', 'method', 'criteria', 'headers', 'body']);
    for (const f of ['headers', 'body']) if (http[f] !== undefined) ctx.miss(`${at}/statusCheck/http/${f}`, 'Faultline\'s HTTP check sends no headers or body');
    for (const f of ['failureThreshold', 'successThreshold', 'recordsHistoryLimit']) if (sc[f] !== undefined) ctx.miss(`${at}/statusCheck/${f}`, 'Faultline\'s check passes at the first success');
    const criteria = isObj(http.criteria) ? http.criteria : {};
    const codes = statusCodes(String(criteria.statusCode ?? '200'));
    if (!codes) {
      ctx.miss(`${at}/statusCheck/http/criteria/statusCode`, 'must be one code or a range of at most 32 codes (e.g. 200 or 200-204)');
      return undefined;
    }
    const method = String(http.method ?? 'GET').toUpperCase();
    if (!['GET', 'HEAD', 'POST'].includes(method)) ctx.miss(`${at}/statusCheck/http/method`, `${method} is not GET, HEAD or POST`);
    const check: Obj = {
      http: { url: String(http.url ?? ''), method: ['GET', 'HEAD', 'POST'].includes(method) ? method : 'GET', status: codes },
      ...(deadline ? { timeout: deadline } : {}),
      ...(typeof sc.intervalSeconds === 'number' ? { interval: `${sc.intervalSeconds}s` } : {}),
      onFailure: t.abortWithStatusCheck === true ? 'abort' : 'fail',
    };
    if (typeof sc.timeoutSeconds === 'number') ctx.note(`${at}/statusCheck/timeoutSeconds`, 'each probe of Faultline\'s check has its own fixed timeout');
    return { name, check } as Step;
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
    // Chaos Mesh's default direction is `to` (kubebuilder:default=to): egress from the selected pods
    const direction = ({ to: 'egress', from: 'ingress', both: 'both' } as Record<string, string>)[String(spec.direction ?? 'to')];
    if (!direction) ctx.miss(`${at}/direction`, `${String(spec.direction)} is not to, from or both`);
    // Chaos Mesh also takes host names and host:port; Faultline's peers are addresses: each other entry is named
    let peers: string[] | undefined;
    if (Array.isArray(spec.externalTargets)) {
      peers = [];
      spec.externalTargets.forEach((raw, i) => {
        const p = String(raw);
        if (/^(([0-9]{1,3}\.){3}[0-9]{1,3}(\/[0-9]{1,2})?|[0-9a-fA-F]*:[0-9a-fA-F:]*(\/[0-9]{1,3})?)$/.test(p)) peers!.push(p);
        else ctx.miss(`${at}/externalTargets/${i}`, `"${p}": host names and ports are not resolved; give IP addresses or CIDRs`);
      });
      if (peers.length === 0) peers = undefined;
    }
    // the other side as pods: Faultline's peer selector (resolved to their addresses, and again when they change)
    const peer = this.peer(ctx, spec.target, `${at}/target`);
    const lossCorrelated = action === 'loss' && isObj(spec.loss) && spec.loss.correlation !== undefined && Number(spec.loss.correlation) !== 0;
    const delayReorder = action === 'delay' && isObj(spec.delay) && spec.delay.reorder !== undefined;
    // loss with a correlation, and delay with reorder, need netem (nft loss is independent per packet)
    // (the tc kinds shape egress toward peers too, so correlated loss toward a `to` side stays netem)
    const netem = action === 'netem' || delayReorder || (lossCorrelated && (direction === 'egress' || (!peers && !peer)));
    const tcOnly = action !== 'partition' && (action !== 'loss' || netem);
    if (tcOnly && direction && direction !== 'egress') ctx.miss(`${at}/direction`, 'tc-based kinds shape egress only (Chaos Mesh `to`); traffic from the other side is not mapped');
    const withIface = (r: ReturnType<MakeFn>) => {
      if (typeof spec.device === 'string' && r.spec.targets) (r.spec.targets.selector as Obj).interface = spec.device;
      return r;
    };
    const sub = (key: string, fields: string[]) => {
      const v = isObj(spec[key]) ? (spec[key] as Obj) : {};
      ctx.checkKeys(v, `${at}/${key}`, fields);
      return v;
    };
    const peerParams = (): Obj => ({ ...(peers ? { peers } : {}), ...(peer ? { peer } : {}) });
    if (netem) return this.netem(ctx, spec, at, action, withIface, make, peerParams());
    switch (action) {
      case 'delay': {
        const d = sub('delay', ['latency', 'jitter', 'correlation', 'reorder']);
        if (d.reorder !== undefined) ctx.miss(`${at}/delay/reorder`, 'map it as its own network-reorder experiment');
        return [withIface(make('', { kind: 'network-delay', params: { latency: d.latency, ...(d.jitter ? { jitter: d.jitter } : {}), ...percentField(d, 'correlation', 'correlation'), ...peerParams() } }))];
      }
      case 'loss': {
        const l = sub('loss', ['loss', 'correlation']);
        if (l.correlation !== undefined && Number(l.correlation) !== 0) ctx.miss(`${at}/loss/correlation`, 'nft loss is independent per packet; correlation is not mapped');
        return [withIface(make('', { kind: 'network-loss', params: { ...percentField(l, 'loss', 'percent'), direction: direction ?? 'both', ...peerParams() } }))];
      }
      case 'duplicate':
      case 'corrupt': {
        const v = sub(action, [action, 'correlation']);
        return [withIface(make('', { kind: `network-${action}`, params: { ...percentField(v, action, 'percent'), ...percentField(v, 'correlation', 'correlation'), ...peerParams() } }))];
      }
      case 'partition':
        if (!peers?.length && !peer) {
          ctx.miss(`${at}/externalTargets`, 'Faultline partitions from listed peers or a target selector; neither given');
          return [];
        }
        return [withIface(make('', { kind: 'network-partition', params: { ...peerParams(), direction: direction ?? 'both' } }))];
      case 'bandwidth': {
        const b = sub('bandwidth', ['rate', 'limit', 'buffer', 'peakrate', 'minburst']);
        for (const f of ['peakrate', 'minburst']) if (b[f] !== undefined) ctx.miss(`${at}/bandwidth/${f}`, 'tbf peak rate is not mapped');
        return [withIface(make('', {
          kind: 'network-bandwidth',
          params: { rate: String(b.rate ?? ''), ...(b.limit !== undefined ? { limit: String(b.limit) } : {}), ...(b.buffer !== undefined ? { burst: String(b.buffer) } : {}), ...peerParams() },
        }))];
      }
      default:
        ctx.miss(`${at}/action`, `${action || 'no action'} is not netem, delay, loss, duplicate, corrupt, partition or bandwidth`);
        return [];
    }
  }

  /** Chaos Mesh `target` (the other side as pods) → params.peer: {selector, mode?, value?}. */
  private peer(ctx: DocContext, target: unknown, at: string): Obj | undefined {
    if (target === undefined) return undefined;
    if (!isObj(target)) {
      ctx.miss(at, 'is not an object');
      return undefined;
    }
    ctx.checkKeys(target, at, ['selector', 'mode', 'value']);
    const sel = isObj(target.selector) ? target.selector : {};
    ctx.checkKeys(sel, `${at}/selector`, [...SELECTOR_FIELDS]);
    const mode = target.mode === undefined ? undefined : String(target.mode);
    if (mode !== undefined && !MODES.includes(mode)) ctx.miss(`${at}/mode`, `${mode} is not one of ${MODES.join(', ')}`);
    return {
      selector: pick(sel, [...SELECTOR_FIELDS]),
      ...(mode && MODES.includes(mode) && mode !== 'all' ? { mode } : {}),
      ...(target.value !== undefined ? { value: String(target.value) } : {}),
    };
  }

  /** Chaos Mesh's netem action (and delay+reorder, correlated loss) → network-netem, one netem qdisc. */
  private netem(ctx: DocContext, spec: Obj, at: string, action: string, withIface: (r: ReturnType<MakeFn>) => ReturnType<MakeFn>, make: MakeFn, other: Obj) {
    const params: Obj = {};
    const sub = (key: string, fields: string[]) => {
      const v = isObj(spec[key]) ? (spec[key] as Obj) : undefined;
      if (v) ctx.checkKeys(v, `${at}/${key}`, fields);
      return v;
    };
    const d = sub('delay', ['latency', 'jitter', 'correlation', 'reorder']);
    if (d && (action === 'netem' || action === 'delay')) {
      const delay: Obj = { latency: d.latency, ...(d.jitter ? { jitter: d.jitter } : {}), ...percentField(d, 'correlation', 'correlation') };
      if (isObj(d.reorder)) {
        ctx.checkKeys(d.reorder, `${at}/delay/reorder`, ['reorder', 'correlation', 'gap']);
        delay.reorder = { ...percentField(d.reorder, 'reorder', 'percent'), ...percentField(d.reorder, 'correlation', 'correlation'), ...(d.reorder.gap !== undefined ? { gap: Number(d.reorder.gap) } : {}) };
      }
      params.delay = delay;
    }
    for (const key of ['loss', 'duplicate', 'corrupt'] as const) {
      const v = action === 'netem' || action === key ? sub(key, [key, 'correlation']) : undefined;
      if (v) params[key] = { ...percentField(v, key, 'percent'), ...percentField(v, 'correlation', 'correlation') };
    }
    const r = action === 'netem' ? sub('rate', ['rate']) : undefined;
    if (r) params.rate = String(r.rate ?? '');
    if (action === 'netem' && spec.bandwidth !== undefined) ctx.miss(`${at}/bandwidth`, 'netem takes rate; bandwidth (tbf) is its own action');
    if (Object.keys(params).length === 0) {
      ctx.miss(`${at}/action`, 'netem needs at least one of delay, loss, duplicate, corrupt, rate');
      return [];
    }
    if (action !== 'netem') ctx.note(`${at}/action`, `mapped to network-netem: ${action === 'loss' ? 'correlated loss' : 'reorder'} needs netem`);
    return [withIface(make('', { kind: 'network-netem', params: { ...params, ...other } }))];
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

/**
 * The schedule fields of a Chaos Mesh Schedule (a document's spec or a workflow template's `schedule`):
 * the cron rule (see cronOf), concurrencyPolicy (same two values) and historyLimit (1–1000) carry over;
 * startingDeadlineSeconds has no equivalent. Undefined when the cron rule cannot be carried over.
 */
function scheduleFields(ctx: DocContext, spec: Obj, at: string): Pick<ExperimentInput['spec'], 'schedule' | 'concurrencyPolicy' | 'historyLimit'> | undefined {
  if (spec.startingDeadlineSeconds !== undefined) ctx.miss(`${at}/startingDeadlineSeconds`, 'Faultline starts a missed run at once or skips it; no deadline setting');
  const out: Pick<ExperimentInput['spec'], 'concurrencyPolicy' | 'historyLimit'> = {};
  const policy = spec.concurrencyPolicy === undefined ? undefined : String(spec.concurrencyPolicy);
  if (policy === 'Forbid' || policy === 'Allow') out.concurrencyPolicy = policy;
  else if (policy !== undefined) ctx.miss(`${at}/concurrencyPolicy`, `${policy} is not Forbid or Allow`);
  if (Number.isInteger(spec.historyLimit) && (spec.historyLimit as number) >= 1 && (spec.historyLimit as number) <= 1000) out.historyLimit = spec.historyLimit as number;
  else if (spec.historyLimit !== undefined) ctx.miss(`${at}/historyLimit`, `${JSON.stringify(spec.historyLimit)} is not a whole number from 1 to 1000`);
  const cron = cronOf(typeof spec.schedule === 'string' ? spec.schedule : '');
  if ('reason' in cron) {
    ctx.miss(`${at}/schedule`, cron.reason);
    return undefined;
  }
  if (cron.note) ctx.note(`${at}/schedule`, cron.note);
  return { schedule: cron.cron, ...out };
}

const CRON_DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly'];

/**
 * A Chaos Mesh cron rule (robfig/cron's standard parser: five fields, descriptors, `@every <duration>`)
 * as the exporter's croner takes it. Five fields and the descriptors mean the same; `@midnight` is
 * `@daily`; `@every` becomes a seconds/minutes/hours step when the interval divides a minute, an hour or
 * a day (Chaos Mesh counts it from the schedule's start, croner from the clock: noted), and is refused
 * otherwise, as is a TZ= prefix.
 */
export function cronOf(text: string): { cron: string; note?: string } | { reason: string } {
  const rule = text.trim().replace(/\s+/g, ' ');
  if (!rule) return { reason: 'is required' };
  if (/^(CRON_)?TZ=/.test(rule)) return { reason: 'a time zone prefix is not supported: Faultline schedules tick in the exporter\'s time zone' };
  if (rule === '@midnight') return { cron: '@daily' };
  if (CRON_DESCRIPTORS.includes(rule)) return { cron: rule };
  const every = /^@every (.+)$/.exec(rule);
  if (!every) return { cron: rule };
  let ms: number;
  try {
    ms = parseDuration(every[1]);
  } catch {
    return { reason: `@every ${every[1]}: not a duration` };
  }
  const sec = ms / 1000;
  const note = `@every ${every[1]} counts from when the schedule starts; the cron Faultline runs ticks on the clock`;
  const divides = (n: number, of: number) => Number.isInteger(n) && n >= 1 && n <= of && of % n === 0;
  if (divides(sec, 30)) return { cron: sec === 1 ? '* * * * * *' : `*/${sec} * * * * *`, note };
  if (divides(sec / 60, 30)) return { cron: `0 */${sec / 60} * * * *`, note };
  if (divides(sec / 3600, 24)) return { cron: `0 0 */${sec / 3600} * * *`, note };
  return { reason: `@every ${every[1]} has no cron equivalent (Faultline takes intervals that divide a minute, an hour or a day)` };
}

/** A Faultline object name from a Chaos Mesh template name (lowercase DNS label). */
function objectName(s: string): string {
  const n = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 63).replace(/-+$/, '');
  return n || 'step';
}

/** Sibling steps need distinct names; a template used twice in one group gets -2, -3, ... */
function uniqueNames(steps: Step[]): Step[] {
  const seen = new Map<string, number>();
  return steps.map((s) => {
    const n = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, n);
    return n === 1 ? s : { ...s, name: objectName(`${s.name.slice(0, 60)}-${n}`) };
  });
}

/** "200" → [200]; "200-204" → [200..204]; undefined when not a code or a range of at most 32. */
function statusCodes(text: string): number[] | undefined {
  const m = /^\s*([1-5][0-9]{2})\s*(?:-\s*([1-5][0-9]{2})\s*)?$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] ? Number(m[2]) : from;
  if (to < from || to - from >= 32) return undefined;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
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
