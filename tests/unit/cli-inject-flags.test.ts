import { Command } from 'commander';
import YAML from 'yaml';
import { KIND_SPECS, kindSpec } from '../../api/kinds/index';
import { CliError } from '../../cli/client';
import { COMMON_FLAGS, experimentFromFlags, flagForPointer, registerInject } from '../../cli/commands/inject';
import { kebab, kindFlags, paramsFromFlags } from '../../cli/kind-flags';
import { nearestAny } from '../../cli/suggest';

// The flags of `faultline inject <kind>` are generated from each kind's schema: every kind gets one
// flag per param, none collides with the common flags, and values are typed and checked with the
// kind's own schema, each error naming the flag (the CLI end-to-end: tests/integration/cli-inject.test.ts).

const usage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as CliError).message;
  }
  throw new Error('no usage error');
};

const opts = (extra: Record<string, unknown>) => ({ for: '2m', namespace: 'default', poll: '500ms', server: 'http://127.0.0.1:9', output: 'table' as const, ...extra });

describe('inject flags from the kind schemas', () => {
  it.each(KIND_SPECS.map((k) => [k.kind, k] as const))('%s: one flag per param, with help, none taken by a common flag', (_kind, spec) => {
    const flags = kindFlags(spec);
    const params = Object.keys((spec.params as unknown as { properties: object }).properties);
    expect(flags.map((f) => f.param)).toEqual(params);
    for (const f of flags) {
      expect(f.flag).toBe(kebab(f.param));
      expect(COMMON_FLAGS as readonly string[]).not.toContain(f.flag);
      expect(f.help.length).toBeGreaterThan(0);
    }
  });

  it('registers a subcommand per kind, with its flags in the help', () => {
    const program = new Command('faultline');
    registerInject(program);
    const inject = program.commands.find((c) => c.name() === 'inject')!;
    expect(inject.commands.map((c) => c.name())).toEqual(KIND_SPECS.map((k) => k.kind));
    const help = inject.commands.find((c) => c.name() === 'network-loss')!.helpInformation();
    expect(help).toMatch(/--percent <number>\s+share of matching packets dropped; 0–100/);
    expect(help).toMatch(/--direction <value>.*one of ingress, egress, both; default both/s);
    expect(inject.commands.find((c) => c.name() === 'pod-kill')!.helpInformation()).toMatch(/--grace-period-seconds <integer>/);
  });

  it('types the values: numbers, lists, enums, YAML for structured params', () => {
    const flags = kindFlags(kindSpec('network-loss')!);
    expect(paramsFromFlags(flags, { percent: '30', ports: ['80,443', '8080'], direction: 'egress' }, YAML.parse)).toEqual({ percent: 30, ports: [80, 443, 8080], direction: 'egress' });
    const tcp = kindFlags(kindSpec('tcp-fault')!);
    expect(paramsFromFlags(tcp, { toxics: '[{type: latency, latency: 100ms}]' }, YAML.parse)).toEqual({ toxics: [{ type: 'latency', latency: '100ms' }] });
    const skew = kindFlags(kindSpec('time-skew')!);
    expect(paramsFromFlags(skew, { offset: '-1h', clocks: ['CLOCK_REALTIME,CLOCK_MONOTONIC'] }, YAML.parse)).toEqual({ offset: '-1h', clocks: ['CLOCK_REALTIME', 'CLOCK_MONOTONIC'] });
  });

  it('bad and hostile values are usage errors naming the flag', () => {
    const loss = kindSpec('network-loss')!;
    const flags = kindFlags(loss);
    const build = (extra: Record<string, unknown>) => () => experimentFromFlags(loss, flags, opts(extra));
    expect(usage(build({ percent: '300' }))).toBe('--percent must be <= 100');
    expect(usage(build({ percent: '-1' }))).toBe('--percent must be >= 0');
    expect(usage(build({ percent: 'abc' }))).toMatch(/^--percent must be a number/);
    expect(usage(build({ percent: '1e999' }))).toMatch(/^--percent must be a number/);
    expect(usage(build({ percent: '0x10' }))).toMatch(/^--percent must be a number/);
    expect(usage(build({}))).toBe('--percent is required');
    expect(usage(build({ percent: '5', direction: 'sideways' }))).toMatch(/^--direction must be one of ingress, egress, both/);
    expect(usage(build({ percent: '5', ports: ['1,99999'] }))).toBe('--ports must be <= 65535');
    expect(usage(build({ percent: '5', ports: ['http'] }))).toMatch(/^--ports must be a number/);
    expect(usage(build({ percent: '5', peers: ['10.0.0.1;rm -rf /'] }))).toMatch(/^--peers must match/);
    expect(usage(build({ percent: '5', for: '9999999h' }))).toBe('--for must be at most 168h (7 days)');
    expect(usage(build({ percent: '5', for: 'soon' }))).toMatch(/^--for must be a duration/);
    expect(usage(build({ percent: '5', netns: ['../../etc'] }))).toMatch(/^--netns must match/);
    expect(usage(build({ percent: '5', name: 'X'.repeat(80) }))).toMatch(/^--name must match/);
    expect(usage(build({ percent: '5', pid: ['0'] }))).toMatch(/^--pid must be a process id/);
    expect(usage(build({ percent: '5', pid: ['99999999999999999999'] }))).toMatch(/^--pid must be a process id/);
    expect(usage(build({ percent: '5', processName: '(unclosed' }))).toMatch(/^--process-name /);
    expect(usage(build({ percent: '5', guardAlert: ['nonsense'] }))).toMatch(/^--guard-alert /);
    expect(usage(build({ percent: '5', selector: 'a!b' }))).toMatch(/^--selector\/-l/);
    const cpu = kindSpec('cpu-stress')!;
    expect(usage(() => experimentFromFlags(cpu, kindFlags(cpu), opts({ workers: '99999999999999999999' })))).toMatch(/^--workers must be a whole number/);
    expect(usage(() => experimentFromFlags(cpu, kindFlags(cpu), opts({ workers: '1.5' })))).toMatch(/^--workers must be a whole number/);
    const tcp = kindSpec('tcp-fault')!;
    expect(usage(() => experimentFromFlags(tcp, kindFlags(tcp), opts({ toxics: '[{type: latency' })))).toMatch(/^--toxics must be YAML or JSON/);
    expect(usage(() => experimentFromFlags(tcp, kindFlags(tcp), opts({ toxics: '[{type: nope}]' })))).toMatch(/^--toxics \(at \/0/);
    const pause = kindSpec('process-pause')!;
    expect(usage(() => experimentFromFlags(pause, kindFlags(pause), opts({})))).toMatch(/needs a target: give --pid/);
  });

  it('builds the experiment document the flags describe', () => {
    const loss = kindSpec('network-loss')!;
    const doc = experimentFromFlags(loss, kindFlags(loss), opts({ percent: '30', netns: ['shop'], name: 'loss-1', guardAlert: ['alertname="HighErrorRate"'] }));
    expect(doc).toEqual({
      metadata: { name: 'loss-1', namespace: 'default' },
      spec: { fault: { kind: 'network-loss', params: { percent: 30, direction: 'both', protocol: 'all' } }, duration: '2m', targets: { selector: { netns: ['shop'] }, mode: 'all' }, guards: { alerts: ['alertname="HighErrorRate"'] } },
    });
    const generated = experimentFromFlags(loss, kindFlags(loss), opts({ percent: '30' }));
    expect(generated.metadata.name).toMatch(/^network-loss-[a-z0-9]+$/);
    const pod = kindSpec('pod-kill')!;
    expect(experimentFromFlags(pod, kindFlags(pod), opts({ pod: ['shop/web-0', 'web-1'], selector: 'app=web' })).spec.targets).toMatchObject({
      selector: { pods: { shop: ['web-0'], default: ['web-1'] }, labelSelectors: { app: 'web' } },
    });
  });

  it('server field pointers map back to flags', () => {
    const flags = kindFlags(kindSpec('network-loss')!);
    expect(flagForPointer(flags, '/spec/fault/params/percent')).toBe('--percent');
    expect(flagForPointer(flags, '/spec/duration')).toBe('--for');
    expect(flagForPointer(flags, '/spec/targets/selector/netns/0')).toBe('--netns');
    expect(flagForPointer(flags, '/spec/targets/selector/processName')).toBe('--process-name');
    expect(flagForPointer(flags, '/spec/targets/selector')).toBe('the selector (target flags)');
  });

  it('an unknown kind suggests the nearest one', () => {
    const names = KIND_SPECS.map((k) => k.kind);
    expect(nearestAny('network-los', names)).toBe('network-loss');
    expect(nearestAny('loss', names)).toBe('network-loss');
    expect(nearestAny('proces-kill', names)).toBe('process-kill');
    expect(nearestAny('cpu', names)).toBe('cpu-stress');
  });
});
