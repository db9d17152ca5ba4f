import { Option, type Command } from 'commander';
import type { EventList } from '../../api/events';
import type { Experiment, ExperimentList } from '../../api/experiment';
import type { KindList, TargetCandidate, TargetList } from '../../api/targets';
import type { Workflow } from '../../api/workflow';
import { Client, CliError, EXIT, clientOptions, durationFlag, expPath, render, run, type ClientOptions } from '../client';
import { eventsTable, experimentsTable, kindsTable, targetsTable } from '../format';
import { stepsTable, wfPath, workflowsTable } from '../workflow';
import { nearest } from '../suggest';

// The edit-distance helpers live in cli/suggest.ts (kinds use them too); re-exported for old callers.
export { distance, nearest } from '../suggest';

// `faultline get experiments [NAME] | workflows | events | kinds | targets`, with kubectl's habits:
// -o wide|name|json|yaml, -l key=value, -w (watch), "No resources found in namespace X.".

type Resource = 'experiments' | 'events' | 'kinds' | 'targets' | 'workflows';
const RESOURCES: Record<string, Resource> = {
  workflows: 'workflows', workflow: 'workflows', wf: 'workflows',
  experiments: 'experiments', experiment: 'experiments', exp: 'experiments', exps: 'experiments',
  events: 'events', event: 'events', ev: 'events',
  kinds: 'kinds', kind: 'kinds',
  targets: 'targets', target: 'targets',
};
// Phases each resource has, so a typo (`--phase Runing`) is a usage error with the nearest one, not an empty list.
const EXPERIMENT_PHASES = ['Pending', 'Injecting', 'Running', 'Paused', 'Recovering', 'Finished', 'Aborted', 'Failed'];
const WORKFLOW_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Aborted'];

type Output = 'table' | 'wide' | 'name' | 'json' | 'yaml';
type GetOpts = Omit<ClientOptions, 'output'> & {
  output: Output;
  allNamespaces?: boolean;
  phase?: string;
  kind?: string;
  experiment?: string;
  type?: string;
  since?: string;
  limit: string;
  selector?: string;
  watch?: boolean;
  interval: string;
  name?: string;
  netns?: string;
  cgroup?: string;
};

/** --phase a,b checked against the resource's phases (case-insensitive), in their canonical spelling. */
export function checkPhases(text: string, phases: readonly string[]): string {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const exact = phases.find((x) => x.toLowerCase() === p.toLowerCase());
      if (exact) return exact;
      const near = nearest(p, phases);
      throw new CliError(`--phase ${JSON.stringify(p)} is not a phase${near ? `: did you mean ${near}?` : ''} (one of ${phases.join(', ')})`, EXIT.invalid);
    })
    .join(',');
}

/** -l app=web,tier!=db,team → a predicate on metadata.labels. */
export function parseSelector(text: string): (labels: Record<string, string> | undefined) => boolean {
  const terms = text.split(',').map((t) => t.trim()).filter(Boolean).map((t) => {
    const m = /^(!?)([A-Za-z0-9_./-]+)(?:\s*(==|=|!=)\s*([A-Za-z0-9_.-]*))?$/.exec(t);
    if (!m) throw new CliError(`-l ${JSON.stringify(t)} is not a label selector term: use key=value, key!=value, key or !key`, EXIT.invalid);
    return { not: m[1] === '!', key: m[2], op: m[3], value: m[4] ?? '' };
  });
  return (labels = {}) =>
    terms.every(({ not, key, op, value }) => {
      if (!op) return not ? !(key in labels) : key in labels;
      return op === '!=' ? labels[key] !== value : labels[key] === value;
    });
}

/** A regex flag, with the RE2 engine every other regex uses (loaded only when the flag is given). */
async function regexFlag(flag: string, text: string | undefined): Promise<{ test(s: string): boolean } | undefined> {
  if (text === undefined) return undefined;
  const { regexProblem, parseUserRegex } = await import('../../api/regex');
  const problem = regexProblem(text);
  if (problem) throw new CliError(`${flag} ${JSON.stringify(text)} is not an RE2 regular expression: ${problem}`, EXIT.invalid);
  return parseUserRegex(text, false);
}

/** A table without its relative times (AGE "12s", ENDS "in 3m4s"), which change on every look. */
const steady = (text: string) => text.replace(/(in )?\b\d+[smhd](\d+[smh])?\b( ago)?/g, '');

function noneFound(o: GetOpts, namespaced: boolean): string {
  return namespaced && !o.allNamespaces ? `No resources found in namespace ${o.namespace}.` : 'No resources found.';
}

export function registerGet(program: Command): void {
  clientOptions(
    program
      .command('get')
      .description('list experiments (or one), workflows, events, fault kinds or targets')
      .argument('<resource>', 'experiments | workflows | events | kinds | targets')
      .argument('[name]', 'one experiment or workflow by name')
      .addOption(new Option('-o, --output <format>', 'table, wide (more columns, absolute times), name, json or yaml').choices(['table', 'wide', 'name', 'json', 'yaml']).env('FAULTLINE_OUTPUT').default('table'))
      .option('-A, --all-namespaces', 'every namespace')
      .option('-l, --selector <labels>', 'experiments and workflows whose labels match (key=value, key!=value, key, !key; comma = and)')
      .option('-w, --watch', 'print the list again whenever it changes, until interrupted')
      .option('--interval <duration>', 'with --watch: how often to look', '2s')
      .option('--phase <phases>', 'experiments or workflows in these phases (comma separated)')
      .option('--kind <kind>', 'only this fault kind')
      .option('--experiment <name>', 'events of this experiment')
      .option('--type <types>', 'events of these types (comma separated)')
      .option('--since <time>', 'events from this RFC 3339 time or epoch ms')
      .option('--limit <n>', 'at most this many events', '1000')
      .option('--name <regex>', 'targets whose process name or command line matches')
      .option('--netns <name>', 'targets in this network namespace')
      .option('--cgroup <prefix>', 'targets in this cgroup (or below it)'),
    { output: false },
  ).action(
    run(async (resource: string, name: string | undefined, o: GetOpts) => {
      const what = RESOURCES[resource.toLowerCase()];
      if (!what) {
        const near = nearest(resource, Object.keys(RESOURCES));
        throw new CliError(`unknown resource "${resource}"${near ? `: did you mean ${near}?` : ''} (experiments, workflows, events, kinds or targets)`, EXIT.invalid);
      }
      if (o.phase) o.phase = checkPhases(o.phase, what === 'workflows' ? WORKFLOW_PHASES : EXPERIMENT_PHASES);
      const matches = o.selector ? parseSelector(o.selector) : () => true;
      const nameRe = await regexFlag('--name', o.name);
      const client = new Client(o);
      const show = async (): Promise<string> => (await fetchAndShow(client, what, name, o, matches, nameRe)).trimEnd();
      if (!o.watch) {
        const text = await show();
        if (text.startsWith('No resources found')) process.stderr.write(`${text}\n`);
        else console.log(text);
        return;
      }
      // -w: print whenever the output changes (polling: every resource, one code path)
      const every = durationFlag('--interval', o.interval);
      let previous = '';
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      let header = false;
      while (!stop.signal.aborted) {
        const text = await show();
        if (steady(text) !== steady(previous)) {
          if (text.startsWith('No resources found')) {
            if (!previous) process.stderr.write(`${text}\n`);
          } else if (header && (o.output === 'table' || o.output === 'wide')) {
            // a table's header once, then only the rows that are new or changed
            const old = new Set(previous.split('\n').map(steady));
            for (const l of text.split('\n').slice(1)) if (!old.has(steady(l))) console.log(l);
          } else {
            console.log(o.output === 'yaml' && previous ? `---\n${text}` : text);
            header = true;
          }
          previous = text;
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, every);
          stop.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
        });
      }
    }),
  );
}

async function fetchAndShow(client: Client, what: Resource, name: string | undefined, o: GetOpts, matches: (l: Record<string, string> | undefined) => boolean, nameRe: { test(s: string): boolean } | undefined): Promise<string> {
  const ns = o.allNamespaces ? undefined : o.namespace;
  const fmt = o.output === 'wide' || o.output === 'name' ? 'table' : o.output;
  const wide = o.output === 'wide';
  const tableOpts = { wide, allNamespaces: o.allNamespaces };
  const names = (kind: string, items: { metadata: { name: string } }[]) => items.map((i) => `${kind}/${i.metadata.name}`).join('\n');
  if (what === 'workflows') {
    if (name) {
      const w = await client.get<Workflow>(wfPath(o.namespace, name));
      return o.output === 'name' ? names('workflow', [w]) : render(w, fmt, () => `${workflowsTable([w])}\n\n${stepsTable(w)}`);
    }
    const q = new URLSearchParams({ ...(ns ? { namespace: ns } : {}), ...(o.phase ? { phase: o.phase } : {}) });
    const list = await client.get<{ items: Workflow[] }>(`/api/v1/workflows?${q}`);
    list.items = list.items.filter((w) => matches(w.metadata.labels as Record<string, string> | undefined));
    if (!list.items.length && fmt === 'table') return noneFound(o, true);
    return o.output === 'name' ? names('workflow', list.items) : render(list, fmt, () => workflowsTable(list.items));
  }
  if (what === 'experiments') {
    if (name) {
      const e = await client.get<Experiment>(expPath(o.namespace, name));
      return o.output === 'name' ? names('experiment', [e]) : render(e, fmt, () => experimentsTable([e], tableOpts));
    }
    const q = new URLSearchParams({ ...(ns ? { namespace: ns } : {}), ...(o.phase ? { phase: o.phase } : {}), ...(o.kind ? { kind: o.kind } : {}) });
    const list = await client.get<ExperimentList>(`/api/v1/experiments?${q}`);
    list.items = list.items.filter((e) => matches(e.metadata.labels));
    if (!list.items.length && fmt === 'table') return noneFound(o, true);
    return o.output === 'name' ? names('experiment', list.items) : render(list, fmt, () => experimentsTable(list.items, tableOpts));
  }
  if (what === 'events') {
    const q = new URLSearchParams({
      ...(ns ? { namespace: ns } : {}),
      ...(o.kind ? { kind: o.kind } : {}),
      ...((o.experiment ?? name) ? { experiment: (o.experiment ?? name)! } : {}),
      ...(o.type ? { type: o.type } : {}),
      ...(o.since ? { from: o.since } : {}),
      limit: o.limit,
    });
    const list = await client.get<EventList>(`/api/v1/events?${q}`);
    if (!list.items.length && fmt === 'table') return noneFound(o, true);
    return o.output === 'name' ? list.items.map((e) => `event/${e.id}`).join('\n') : render(list, fmt, () => eventsTable(list.items));
  }
  if (what === 'kinds') {
    const list = await client.get<KindList>('/api/v1/kinds');
    return o.output === 'name' ? list.items.map((k) => `kind/${k.kind}`).join('\n') : render(list, fmt, () => kindsTable(list.items));
  }
  const list = await client.get<TargetList>('/api/v1/targets');
  const keep = (t: TargetCandidate) =>
    (!nameRe || nameRe.test(t.processName ?? '') || nameRe.test(t.cmdline ?? '')) &&
    (o.netns === undefined || t.netns === o.netns) &&
    (o.cgroup === undefined || (t.cgroup !== undefined && (t.cgroup === o.cgroup || t.cgroup.startsWith(o.cgroup.replace(/\/?$/, '/')))));
  // by daemon, then pid (targets without a pid, such as network namespaces, after the processes)
  list.items = list.items.filter(keep).sort((a, b) => a.daemon.localeCompare(b.daemon) || (a.pid ?? Infinity) - (b.pid ?? Infinity) || a.description.localeCompare(b.description));
  if (!list.items.length && fmt === 'table') return noneFound(o, false);
  return o.output === 'name' ? list.items.map((t) => `target/${t.daemon}/${t.pid ?? t.netns ?? t.description}`).join('\n') : render(list, fmt, () => targetsTable(list.items, tableOpts));
}
