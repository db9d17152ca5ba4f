import { ApiError } from '../../../api/errors';
import type { ExperimentSpec } from '../../../api/experiment';
import { parsePolicy, Policy } from '../../../exporter/policy';

const POLICY = `
allowedNamespaces: [shop, billing, infra]
protectedNamespaces: [infra]
protectedProcessNames: [sshd, "kubelet.*"]
maxConcurrentExperiments: 2
maxDuration: 10m
maxTargetPercent: 50
maxTargets: 5
`;

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  fault: { kind: 'process-pause', params: {} },
  targets: { selector: { processName: 'sleep' }, mode: 'all' },
  duration: '30s',
  ...over,
});

function ruleOf(fn: () => void): { status: number; code: string; message: string; field: string } {
  try {
    fn();
  } catch (err) {
    const e = err as ApiError;
    return { status: e.status, code: e.code, message: e.message, field: e.details?.[0]?.field ?? '' };
  }
  throw new Error('no violation');
}

describe('blast radius policy', () => {
  const p = parsePolicy(POLICY);

  it('allows what is inside the rules', () => {
    expect(() => p.checkSpec('shop', spec())).not.toThrow();
    expect(() => p.checkConcurrency(1)).not.toThrow();
    expect(() => p.checkTargets([{ description: 'pid 10 (sleep)', processName: 'sleep' }], 1)).not.toThrow();
  });

  it.each([
    ['allowedNamespaces', () => p.checkSpec('dev', spec()), '/metadata/namespace', 403],
    ['protectedNamespaces', () => p.checkSpec('infra', spec()), '/metadata/namespace', 403],
    ['maxDuration', () => p.checkSpec('shop', spec({ duration: '11m' })), '/spec/duration', 403],
    ['maxTargetPercent', () => p.checkSpec('shop', spec({ targets: { selector: {}, mode: 'fixed-percent', value: '60' } })), '/spec/targets/value', 403],
    ['maxTargets', () => p.checkSpec('shop', spec({ targets: { selector: {}, mode: 'fixed', value: '6' } })), '/spec/targets/value', 403],
    ['protectedProcessNames', () => p.checkSpec('shop', spec({ targets: { selector: { processName: 'ssh.*' }, mode: 'all' } })), '/spec/targets/selector/processName', 403],
    ['maxConcurrentExperiments', () => p.checkConcurrency(2), '/', 409],
    ['protectedProcessNames', () => p.checkTargets([{ description: 'pid 7', processName: 'kubelet' }], 10), '/spec/targets', 403],
    ['maxTargets', () => p.checkTargets(Array.from({ length: 6 }, (_, i) => ({ description: `t${i}` })), 100), '/spec/targets', 403],
    ['maxTargetPercent', () => p.checkTargets([{ description: 'a' }, { description: 'b' }, { description: 'c' }], 4), '/spec/targets', 403],
  ])('refuses with the rule it broke: %s', (rule, fn, field, status) => {
    const v = ruleOf(fn as () => void);
    expect(v).toMatchObject({ status, code: 'policy_violation', field });
    expect(v.message).toContain(`policy rule ${rule}`);
  });

  it('always allows a single target, whatever the share', () => {
    expect(() => p.checkTargets([{ description: 'only one' }], 1)).not.toThrow();
  });

  it('an empty policy allows everything', () => {
    const none = new Policy();
    expect(() => none.checkSpec('anything', spec({ duration: '100h' }))).not.toThrow();
    expect(() => none.checkConcurrency(10_000)).not.toThrow();
  });

  it.each([
    ['maxDuration: forever', '/maxDuration'],
    // the API's maximum (168h, api/units.ts) holds in the policy too: it can only narrow it
    ['maxDuration: 169h', '/maxDuration must be at most 168h'],
    ['maxTargetPercent: 150', '/maxTargetPercent'],
    ['maxConcurrentExperiments: 0', '/maxConcurrentExperiments'],
    ['protectedNamespace: [x]', '/protectedNamespace'],
    ['protectedProcessNames: ["("]', 'protectedProcessNames[0]'],
  ])('rejects a bad policy file: %s', (text, field) => {
    expect(() => parsePolicy(text)).toThrow(field);
  });
});
