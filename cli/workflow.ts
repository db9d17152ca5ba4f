import type { Workflow } from '../api/workflow';
import type { EventList } from '../api/events';
import { Client, CliError, EXIT, age, table } from './client';
import { eventLine } from './format';

// Workflows in the CLI: `apply` and `run --wait` take `kind: Workflow` documents, `get workflows` lists them.

export const isWorkflowDoc = (doc: unknown): boolean => (doc as { kind?: unknown })?.kind === 'Workflow';

export const wfPath = (ns: string, name: string) => `/api/v1/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;

export function workflowsTable(items: Workflow[]): string {
  return table(
    ['NAMESPACE', 'NAME', 'PHASE', 'STEPS', 'AGE', 'MESSAGE'],
    items.map((w) => [w.metadata.namespace, w.metadata.name, w.status.phase, `${w.status.steps.filter((s) => s.phase === 'Succeeded').length}/${w.status.steps.length}`, age(w.metadata.creationTimestamp), w.status.message ?? '']),
  );
}

/** A scheduled step's experiment is its schedule: the runs it started so far go beside its name. */
export function stepsTable(w: Workflow): string {
  const experiment = (s: Workflow['status']['steps'][number]) => (s.experiment ?? '') + (s.runs !== undefined ? ` (${s.runs} run${s.runs === 1 ? '' : 's'})` : '');
  return table(['STEP', 'TYPE', 'PHASE', 'EXPERIMENT', 'MESSAGE'], w.status.steps.map((s) => [s.path, s.type, s.phase, experiment(s), s.message ?? '']));
}

/** Exit code of a finished workflow: 0 Succeeded, 7 Aborted, 8 Failed (as for experiments). */
export function workflowExit(phase: string): number {
  return phase === 'Succeeded' ? EXIT.ok : phase === 'Aborted' ? EXIT.aborted : EXIT.failed;
}

/** Creates a workflow and, with `wait`, follows its events until it ends. */
export async function runWorkflow(client: Client, doc: unknown, o: { wait?: boolean; timeoutMs?: number; pollMs: number; namespace: string }): Promise<number> {
  const w = await client.post<Workflow>('/api/v1/workflows', doc);
  const { namespace, name } = w.metadata;
  console.log(`workflow ${namespace}/${name} created (${w.status.steps.length} step(s))`);
  if (!o.wait) return EXIT.ok;
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  let after = 0;
  for (;;) {
    const page = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ namespace, experiment: name, after: String(after), limit: '1000' })}`);
    for (const ev of page.items) console.log(eventLine(ev));
    if (page.items.length) after = page.items[page.items.length - 1].id;
    const cur = await client.get<Workflow>(wfPath(namespace, name));
    if (['Succeeded', 'Failed', 'Aborted'].includes(cur.status.phase) && !page.nextCursor) {
      console.log(`\n${stepsTable(cur)}\n\nresult: ${cur.status.phase}${cur.status.message ? `: ${cur.status.message}` : ''}`);
      return workflowExit(cur.status.phase);
    }
    if (Date.now() > deadline) {
      await client.post(`${wfPath(namespace, name)}/abort`).catch(() => undefined);
      throw new CliError(`workflow ${namespace}/${name} did not end in time; aborted it`, EXIT.timeout);
    }
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}
