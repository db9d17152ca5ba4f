import { Command, Option } from 'commander';
import type { TSchema } from '@sinclair/typebox';
import { ExperimentSpec, Guards, Metadata, Targets, type Experiment } from '../../api/experiment';
import { KIND_NAMES, KIND_SPECS, type KindSpec } from '../../api/kinds/index';
import { parseDuration } from '../../api/units';
import { check } from '../../api/validate';
import { Client, CliError, EXIT, render, run, yamlModule } from '../client';
import { flagForParamPointer, flagSpec, kindFlags, paramsFromFlags, type KindFlag } from '../kind-flags';
import { unknownKindError } from '../suggest';
import { waitForExperiment } from '../wait';

// `faultline inject <kind> [kind flags] --for 2m [selector flags] [--wait]`: one fault now, as chaosd and
// toxiproxy-cli users type it, e.g. `faultline inject network-loss --percent 30 --netns shop --for 2m`.
// Each registered kind is a subcommand whose flags come from its schema (cli/kind-flags.ts), so a new
// kind or param needs nothing here. Everything is checked here with the API's own schemas before the
// one POST, and each error names the flag: a usage error (exit 2) creates nothing.

type Output = 'table' | 'name' | 'json' | 'yaml';

interface InjectOpts {
  for: string;
  name?: string;
  pid?: string[];
  processName?: string;
  netns?: string[];
  cgroup?: string[];
  interface?: string;
  daemon?: string[];
  container?: string[];
  pod?: string[];
  selector?: string;
  targetMode?: string;
  targetValue?: string;
  guardAlert?: string[];
  wait?: boolean;
  timeout?: string;
  poll: string;
  server: string;
  token?: string;
  namespace: string;
  output: Output;
  [param: string]: unknown;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** Flags every kind subcommand has besides its own; a kind param may not take one of these names (tests/unit/cli-inject-flags.test.ts). */
export const COMMON_FLAGS = [
  'for', 'name', 'pid', 'process-name', 'netns', 'cgroup', 'interface', 'daemon', 'container', 'pod', 'selector',
  'target-mode', 'target-value', 'guard-alert', 'wait', 'timeout', 'poll', 'server', 'token', 'namespace', 'output', 'help',
] as const;

/** Where a field of the experiment came from, for messages: a JSON pointer under spec/metadata → its flag. */
const SPEC_FLAGS: [RegExp, string][] = [
  [/^\/spec\/duration$/, '--for'],
  [/^\/metadata\/name$/, '--name'],
  [/^\/spec\/targets\/selector\/pids(\/|$)/, '--pid'],
  [/^\/spec\/targets\/selector\/processName(\/|$)/, '--process-name'],
  [/^\/spec\/targets\/selector\/netns(\/|$)/, '--netns'],
  [/^\/spec\/targets\/selector\/cgroups(\/|$)/, '--cgroup'],
  [/^\/spec\/targets\/selector\/interface(\/|$)/, '--interface'],
  [/^\/spec\/targets\/selector\/daemons(\/|$)/, '--daemon'],
  [/^\/spec\/targets\/selector\/containerNames(\/|$)/, '--container'],
  [/^\/spec\/targets\/selector\/pods(\/|$)/, '--pod'],
  [/^\/spec\/targets\/selector\/labelSelectors(\/|$)/, '--selector'],
  [/^\/spec\/targets\/selector$/, 'the selector (target flags)'],
  [/^\/spec\/targets\/mode(\/|$)/, '--target-mode'],
  [/^\/spec\/targets\/value(\/|$)/, '--target-value'],
  [/^\/spec\/guards\/alerts(\/|$)/, '--guard-alert'],
];

/** The flag a field of the experiment document came from, if any. */
export function flagForPointer(flags: readonly KindFlag[], pointer: string): string | undefined {
  const params = /^\/spec\/fault\/params(\/.*)$/.exec(pointer);
  if (params) return flagForParamPointer(flags, params[1]);
  return SPEC_FLAGS.find(([re]) => re.test(pointer))?.[1];
}

/** Checks `value` against `schema`; the first problem becomes a usage error naming its flag. */
function checkFlags(schema: TSchema, value: unknown, prefix: string, flags: readonly KindFlag[]): void {
  const problems = check(schema, value, prefix);
  if (!problems.length) return;
  const lines = problems.map((p) => `${flagForPointer(flags, p.field) ?? p.field} ${p.reason}`);
  throw new CliError(lines.length === 1 ? lines[0] : `${lines[0]}\n${lines.slice(1).map((l) => `  ${l}`).join('\n')}`, EXIT.invalid);
}

/** A server's 400 names `/spec/fault/params/percent`: say `--percent`, the flag the user typed. */
function withFlagNames(message: string, flags: readonly KindFlag[]): string {
  return message.replace(/\/(spec|metadata)\/[A-Za-z0-9_/-]+/g, (ptr) => flagForPointer(flags, ptr) ?? ptr);
}

function labelSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=!\s]+)==?([^=!\s]*)$/.exec(part);
    if (!m) throw new CliError(`--selector/-l ${JSON.stringify(part)} must be key=value (several separated by commas)`, EXIT.invalid);
    out[m[1]] = m[2];
  }
  return out;
}

function pods(list: string[], namespace: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of list) {
    const [ns, name] = p.includes('/') ? (p.split('/', 2) as [string, string]) : [namespace, p];
    if (!ns || !name) throw new CliError(`--pod ${JSON.stringify(p)} must be NAME or NAMESPACE/NAME`, EXIT.invalid);
    (out[ns] ??= []).push(name);
  }
  return out;
}

function pids(list: string[]): number[] {
  return list.map((p) => {
    if (!/^[0-9]{1,10}$/.test(p) || !Number.isSafeInteger(Number(p)) || Number(p) < 1 || Number(p) > 4_194_304) throw new CliError(`--pid must be a process id (1–4194304), not ${JSON.stringify(p)}`, EXIT.invalid);
    return Number(p);
  });
}

/** The experiment document the flags describe; every check that can be made here is made here. */
export function experimentFromFlags(spec: KindSpec, flags: readonly KindFlag[], o: InjectOpts): { metadata: { name: string; namespace: string }; spec: Record<string, unknown> } {
  const list = (v: string[] | undefined) => v ?? [];
  const params = paramsFromFlags(flags, o, (t) => yamlModule().parse(t) as unknown);
  checkFlags(spec.params, params, '/spec/fault/params', flags);
  checkFlags((ExperimentSpec.properties as Record<string, TSchema>).duration, o.for, '/spec/duration', flags);
  const name = o.name ?? `${spec.kind}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
  checkFlags((Metadata.properties as Record<string, TSchema>).name, name, '/metadata/name', flags);
  const selector: Record<string, unknown> = {};
  if (list(o.pid).length) selector.pids = pids(list(o.pid));
  if (o.processName !== undefined) selector.processName = o.processName;
  if (list(o.netns).length) selector.netns = list(o.netns);
  if (list(o.cgroup).length) selector.cgroups = list(o.cgroup);
  if (o.interface !== undefined) selector.interface = o.interface;
  if (list(o.daemon).length) selector.daemons = list(o.daemon);
  if (list(o.container).length) selector.containerNames = list(o.container);
  if (list(o.pod).length) selector.pods = pods(list(o.pod), o.namespace);
  if (o.selector !== undefined) selector.labelSelectors = labelSelector(o.selector);
  const hasSelector = Object.keys(selector).length > 0;
  if (spec.targetRequired && !hasSelector) {
    throw new CliError(`${spec.kind} needs a target: give --pid, --process-name, --cgroup${spec.scope === 'pod' ? ', --pod or -l' : ''} (faultline get targets lists them)`, EXIT.invalid);
  }
  const out: Record<string, unknown> = { fault: { kind: spec.kind, params }, duration: o.for };
  if (hasSelector || o.targetMode || o.targetValue) {
    const targets = { selector, ...(o.targetMode ? { mode: o.targetMode } : {}), ...(o.targetValue ? { value: o.targetValue } : {}) };
    checkFlags(Targets, targets, '/spec/targets', flags);
    out.targets = targets;
  }
  if (list(o.guardAlert).length) {
    const guards = { alerts: list(o.guardAlert) };
    checkFlags(Guards, guards, '/spec/guards', flags);
    out.guards = guards;
  }
  return { metadata: { name, namespace: o.namespace }, spec: out };
}

function addKindCommand(inject: Command, spec: KindSpec): void {
  const flags = kindFlags(spec);
  const cmd = inject
    .command(spec.kind)
    .summary(spec.title)
    .description(`${spec.title}: ${spec.description}`)
    .showHelpAfterError(`(run 'faultline inject ${spec.kind} --help' for its flags)`)
    .optionsGroup(`${spec.kind} flags (from its schema):`);
  for (const f of flags) {
    const opt = new Option(flagSpec(f), f.help);
    if (f.shape === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  cmd
    .optionsGroup('Experiment:')
    .requiredOption('--for <duration>', 'how long the fault stays injected, e.g. 30s, 2m (required)')
    .option('--name <name>', 'experiment name (default: <kind>-<random>)')
    .option('--guard-alert <matcher>', 'abort when a firing alert matches, e.g. alertname="HighErrorRate" (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--wait', 'wait for the end, print events and a summary; exit 0 Finished, 7 Aborted, 8 Failed')
    .option('--timeout <duration>', 'with --wait: stop the experiment and exit 9 after this long')
    .option('--poll <duration>', 'with --wait: how often to poll', '500ms')
    .optionsGroup('Targets (default: the host or the kind\'s own target):')
    .option('--pid <pid>', 'process id (repeatable or comma-separated)', collect)
    .option('--process-name <regex>', 'processes whose name or command line matches (RE2)')
    .option('--netns <name>', 'network namespace under /run/netns, or /proc/PID/ns/net (repeatable)', collect)
    .option('--cgroup <path>', 'cgroup path, e.g. /system.slice/app.service (repeatable)', collect)
    .option('--interface <name>', 'network interface, e.g. eth0')
    .option('--daemon <name>', 'only these daemons (hosts) (repeatable)', collect)
    .option('--pod <[namespace/]name>', 'Kubernetes pod (repeatable)', collect)
    .option('-l, --selector <key=value,...>', 'Kubernetes pod labels that must all match')
    .option('--container <name>', 'Kubernetes container names inside each pod (repeatable)', collect)
    .addOption(new Option('--target-mode <mode>', 'how many matching targets to take').choices(['one', 'all', 'fixed', 'fixed-percent', 'random-max-percent']))
    .option('--target-value <n>', 'count for --target-mode fixed, percent for the percent modes')
    .optionsGroup('Client:')
    .addOption(new Option('--server <url>', 'exporter URL').env('FAULTLINE_SERVER').default('http://127.0.0.1:9470'))
    .addOption(new Option('--token <token>', 'bearer token').env('FAULTLINE_TOKEN'))
    .addOption(new Option('-n, --namespace <ns>', 'namespace').env('FAULTLINE_NAMESPACE').default('default'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'name', 'json', 'yaml']).env('FAULTLINE_OUTPUT').default('table'))
    .action(
      run(async (o: InjectOpts) => {
        let timeoutMs: number | undefined;
        let pollMs: number;
        try {
          timeoutMs = o.timeout ? parseDuration(o.timeout) : undefined;
        } catch (err) {
          throw new CliError(`--timeout ${(err as Error).message}`, EXIT.invalid);
        }
        try {
          pollMs = Math.max(50, parseDuration(o.poll));
        } catch (err) {
          throw new CliError(`--poll ${(err as Error).message}`, EXIT.invalid);
        }
        const doc = experimentFromFlags(spec, flags, o);
        const client = new Client(o);
        let e: Experiment;
        try {
          e = await client.post<Experiment>('/api/v1/experiments', { apiVersion: 'faultline.dev/v1alpha1', kind: 'Experiment', ...doc });
        } catch (err) {
          if (err instanceof CliError && err.exitCode === EXIT.invalid) throw new CliError(withFlagNames(err.message, flags), err.exitCode);
          throw err;
        }
        const ref = { namespace: e.metadata.namespace ?? o.namespace, name: e.metadata.name };
        if (o.output === 'table') console.log(`experiment/${ref.name} created`);
        else if (o.output === 'name') console.log(`experiment/${ref.name}`);
        else if (!o.wait) console.log(render(e, o.output, () => ''));
        if (!o.wait) return;
        return waitForExperiment(client, ref, { timeoutMs, timeoutText: o.timeout, pollMs, output: o.output });
      }),
    );
}

export function registerInject(program: Command): void {
  const inject = program
    .command('inject')
    .description(
      'inject one fault now: faultline inject <kind> [kind flags] --for 2m [target flags] [--wait]\n' +
        'e.g. faultline inject network-loss --percent 30 --netns shop --for 2m\n' +
        'Each kind takes the params of its schema as flags: faultline inject <kind> --help lists them.',
    )
    .usage('<kind> [kind flags] --for <duration> [target flags] [--wait]')
    .argument('[kind]', 'the fault kind (one of Kinds below)')
    // A kind that is not a subcommand lands here with its flags: answer with the nearest kind, not "unknown option".
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      run(async (kind: string | undefined) => {
        if (kind === undefined) {
          inject.outputHelp({ error: true });
          return EXIT.invalid;
        }
        throw unknownKindError(kind, KIND_NAMES, 'inject: ');
      }),
    );
  inject.commandsGroup('Kinds:');
  for (const spec of KIND_SPECS) addKindCommand(inject, spec);
}
