import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { anonymousWarning, safetyConfig, safetyOptions, type SafetyFlags } from '../../../cli/safety-flags';

// The safety flags of `faultline start` / `faultline exporter`, parsed by commander as the CLI does.

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = safetyOptions(new Command('x').exitOverride()).action(() => undefined);
  cmd.parse(args, { from: 'user' });
  return safetyConfig(cmd.opts<SafetyFlags>(), env);
}

describe('safety flags', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fl-safety-flags-${process.pid}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: no tokens, empty policy, no Prometheus, 3 failures then abort', () => {
    const c = parse([]);
    expect(c).toMatchObject({ promqlMaxFailures: 3, promqlOnFailure: 'abort', prometheusUrl: undefined });
    expect(c.tokens.size).toBe(0);
    expect(c.policy.rules).toEqual({});
  });

  it('reads the files, the URL and FAULTLINE_TOKENS', () => {
    writeFileSync(path.join(dir, 'policy.yaml'), 'maxDuration: 10m\nprotectedNamespaces: [kube-system]\n');
    const c = parse(['--policy-file', path.join(dir, 'policy.yaml'), '--prometheus-url', 'http://127.0.0.1:9090', '--promql-max-failures', '5', '--promql-on-failure', 'ignore'], {
      FAULTLINE_TOKENS: 'grafana:operator:0123456789abcdef',
    });
    expect(c).toMatchObject({ prometheusUrl: 'http://127.0.0.1:9090', promqlMaxFailures: 5, promqlOnFailure: 'ignore' });
    expect(c.policy.rules.maxDuration).toBe('10m');
    expect(c.tokens.lookup('0123456789abcdef')?.name).toBe('grafana');
  });

  it.each([
    [['--promql-max-failures', '0'], '--promql-max-failures'],
    [['--promql-max-failures', 'three'], '--promql-max-failures'],
    [['--promql-max-failures', '1.5'], '--promql-max-failures'],
    [['--prometheus-url', 'not a url'], '--prometheus-url'],
    [['--prometheus-url', 'file:///etc/passwd'], '--prometheus-url'],
    [['--tokens-file', '/nonexistent/tokens.yaml'], 'cannot read tokens file'],
    [['--policy-file', '/nonexistent/policy.yaml'], 'cannot read policy file'],
  ])('%j is refused, naming the flag', (args, msg) => {
    expect(() => parse(args)).toThrow(msg);
  });

  it('--promql-on-failure only takes abort or ignore', () => {
    expect(() => parse(['--promql-on-failure', 'explode'])).toThrow(/Allowed choices are abort, ignore/);
  });

  it('a bad FAULTLINE_TOKENS is refused', () => {
    expect(() => parse([], { FAULTLINE_TOKENS: 'grafana:operator' })).toThrow('name:role:secret');
    expect(() => parse([], { FAULTLINE_TOKENS: 'grafana:root:0123456789abcdef' })).toThrow('/0/role');
  });

  it('warns when listening beyond loopback without tokens', () => {
    expect(anonymousWarning('0.0.0.0:9470', parse([]))).toContain('only loopback clients');
    expect(anonymousWarning('127.0.0.1:9470', parse([]))).toBeUndefined();
    expect(anonymousWarning('0.0.0.0:9470', parse([], { FAULTLINE_TOKENS: 'a:admin:0123456789abcdef' }))).toBeUndefined();
  });
});

describe('faultline freeze --for', () => {
  it('turns a duration into until, and refuses bad or zero durations (exit 2)', async () => {
    const { untilFor } = await import('../../../cli/commands/freeze');
    expect(untilFor('2h', Date.parse('2026-11-25T07:00:00Z'))).toBe('2026-11-25T09:00:00.000Z');
    expect(() => untilFor('soon')).toThrow('--for: "soon" is not a duration');
    expect(() => untilFor('0s')).toThrow('longer than 0s');
    try {
      untilFor('0s');
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
    }
  });
});
