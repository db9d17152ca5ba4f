import { Subject } from 'rxjs';
import { KIND_SPECS } from '../../api/kinds';
import { API_VERSION, type Experiment, type ExperimentInput, type Phase } from '../../api/experiment';
import type { FaultlineEvent } from '../../api/events';
import type { FreezeState } from '../../api/alerts';
import type { Workflow } from '../../api/workflow';
import type { FaultlineApi } from '../../src/client/client';
import type { KindInfo, TargetInfo } from '../../src/panel/types';

// The panel's side of the data source, recorded: what the panel asked for and with which body. The
// exporter's answers are the wire shapes from api/; failures are what the real data source throws.

/** Every kind as GET /api/v1/kinds returns it: the wire spec with its params JSON schema. */
export function kindInfos(): KindInfo[] {
  return KIND_SPECS.map((k) => ({
    kind: k.kind,
    title: k.title,
    description: k.description,
    scope: k.scope,
    targetRequired: k.targetRequired,
    requires: k.requires,
    // JSON round trip: what arrives over the wire, not the TypeBox object itself.
    schema: JSON.parse(JSON.stringify(k.params)),
    support: [{ daemon: 'node-a', supported: !k.requires.includes('netem'), ...(k.requires.includes('netem') ? { reason: 'kernel module sch_netem is missing' } : {}) }],
  }));
}

export function experiment(name: string, phase: Phase, extra: Partial<Experiment['status']> = {}, namespace = 'default'): Experiment {
  return {
    apiVersion: API_VERSION,
    kind: 'Experiment',
    metadata: { name, namespace, uid: `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { fault: { kind: 'process-pause', params: {} }, duration: '5m', targets: { selector: { pids: [4242] }, mode: 'all' } },
    status: {
      phase,
      startedAt: '2026-01-01T00:00:01Z',
      targets: [{ id: 't1', daemon: 'node-a', target: { pid: 4242 }, description: 'sleep (pid 4242)', phase: phase === 'Running' ? 'Injected' : 'Recovered' }],
      conditions: [],
      ...extra,
    },
  };
}

export interface RecordingApi extends FaultlineApi {
  calls: Array<{ method: string; args: unknown[] }>;
  experiments: Experiment[];
  stream: Subject<FaultlineEvent>;
  /** What recentEvents answers. */
  past: FaultlineEvent[];
  /** What listWorkflows answers. */
  workflows: Workflow[];
  /** What freezeState answers. */
  freezeStatus: FreezeState;
  /** Next call of `method` rejects with this. */
  failNext(method: string, error: unknown): void;
}

export function recordingApi(experiments: Experiment[] = [], targets: TargetInfo[] = []): RecordingApi {
  const failures = new Map<string, unknown>();
  const api = {
    calls: [] as RecordingApi['calls'],
    experiments,
    stream: new Subject<FaultlineEvent>(),
    past: [] as FaultlineEvent[],
    workflows: [] as Workflow[],
    freezeStatus: { frozen: false } as FreezeState,
    failNext(method: string, error: unknown) {
      failures.set(method, error);
    },
  } as RecordingApi;
  const call =
    <T>(method: string, answer: (...args: any[]) => T) =>
    async (...args: unknown[]): Promise<T> => {
      api.calls.push({ method, args });
      if (failures.has(method)) {
        const err = failures.get(method);
        failures.delete(method);
        throw err;
      }
      return answer(...args);
    };
  api.listExperiments = call('listExperiments', () => api.experiments);
  api.listKinds = call('listKinds', kindInfos);
  api.listTargets = call('listTargets', () => targets);
  api.createExperiment = call('createExperiment', (input: ExperimentInput) => experiment(input.metadata.name, 'Pending'));
  api.pause = call('pause', () => ({}));
  api.resume = call('resume', () => ({}));
  api.stop = call('stop', () => ({}));
  api.remove = call('remove', () => ({}));
  api.stopAll = call('stopAll', () => ({ stopped: 1 }));
  api.recentEvents = call('recentEvents', () => api.past);
  api.events = () => api.stream.asObservable();
  api.listWorkflows = call('listWorkflows', () => api.workflows);
  api.abortWorkflow = call('abortWorkflow', () => ({}));
  api.freezeState = call('freezeState', () => api.freezeStatus);
  api.freeze = call('freeze', (req: { reason: string }) => ({ frozen: true, reason: req.reason, actor: 'grafana:editor' }));
  api.unfreeze = call('unfreeze', () => ({ frozen: false }));
  return api;
}

export const callsOf = (api: RecordingApi, method: string) => api.calls.filter((c) => c.method === method);
