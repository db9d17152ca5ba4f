import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import YAML from 'yaml';
import { Duration } from '../api/common';
import { ApiError, type ErrorDetail } from '../api/errors';
import { parseUserRegex, RegexSyntaxError, type UserRegex } from '../api/regex';
import type { ExperimentSpec } from '../api/experiment';
import { formatDuration, parseDuration } from '../api/units';
import { validate } from '../api/validate';

// Blast radius policy (--policy-file, YAML or JSON): which namespaces chaos may run in, what it
// may never touch, how much may run at once and for how long, and how much of a target set one
// experiment may hit. A request that breaks a rule is refused with the rule's name.

export const BlastRadiusPolicy = Type.Object(
  {
    allowedNamespaces: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { description: 'when set, experiments only in these namespaces' })),
    protectedNamespaces: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { description: 'never in these namespaces' })),
    protectedProcessNames: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { description: 'regexes (RE2 syntax, matching the whole name) over process names that are never targets, e.g. sshd, kubelet' }),
    ),
    maxConcurrentExperiments: Type.Optional(Type.Integer({ minimum: 1, description: 'running + paused + injecting at once' })),
    maxDuration: Type.Optional(Duration({ description: 'longest allowed spec.duration' })),
    maxTargetPercent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'largest share of the matching targets one experiment may hit (one target is always allowed)' })),
    maxTargets: Type.Optional(Type.Integer({ minimum: 1, description: 'most targets one experiment may hit' })),
  },
  { additionalProperties: false, $id: 'BlastRadiusPolicy' },
);
export type BlastRadiusPolicy = Static<typeof BlastRadiusPolicy>;

function violation(rule: keyof BlastRadiusPolicy, field: string, message: string, status = 403): ApiError {
  const details: ErrorDetail[] = [{ field, reason: `breaks policy rule ${rule}` }];
  return new ApiError(status, 'policy_violation', `${message} (policy rule ${rule})`, details);
}

// Protected names and selectors are RE2 (api/regex.ts), anchored as Prometheus anchors, like every user regex.
function compileNames(patterns: string[] | undefined): UserRegex[] {
  return (patterns ?? []).map((p, i) => {
    try {
      return parseUserRegex(p, true);
    } catch (err) {
      const reason = err instanceof RegexSyntaxError ? err.reason : 'is not a regular expression';
      throw ApiError.invalid(`policy: protectedProcessNames[${i}] ${reason}`, [{ field: `/protectedProcessNames/${i}`, reason }]);
    }
  });
}

/** Names that a processName selector regex would obviously reach, to test against the protected list. */
function selectorReaches(selectorRegex: string, protectedRe: UserRegex, examples: string[]): string | null {
  let sel: UserRegex;
  try {
    sel = parseUserRegex(selectorRegex, false);
  } catch {
    return null; // the engine rejects a bad regex itself
  }
  for (const name of examples) if (protectedRe.test(name) && sel.test(name)) return name;
  return null;
}

export interface ResolvedTargetInfo {
  description: string;
  /** Process name (comm) when the target is a process. */
  processName?: string;
}

export class Policy {
  private readonly protectedNames: UserRegex[];

  constructor(readonly rules: BlastRadiusPolicy = {}) {
    this.protectedNames = compileNames(rules.protectedProcessNames);
  }

  /** Static checks on a create/apply request. Throws 403 policy_violation naming the rule. */
  checkSpec(namespace: string, spec: ExperimentSpec): void {
    const r = this.rules;
    if (r.allowedNamespaces && !r.allowedNamespaces.includes(namespace)) {
      throw violation('allowedNamespaces', '/metadata/namespace', `namespace ${namespace} is not among the allowed namespaces ${r.allowedNamespaces.join(', ')}`);
    }
    if (r.protectedNamespaces?.includes(namespace)) {
      throw violation('protectedNamespaces', '/metadata/namespace', `namespace ${namespace} is protected`);
    }
    const targetNs = (spec.targets?.selector as { namespaces?: unknown } | undefined)?.namespaces;
    if (Array.isArray(targetNs)) {
      for (const [i, ns] of targetNs.entries()) {
        if (r.protectedNamespaces?.includes(String(ns))) {
          throw violation('protectedNamespaces', `/spec/targets/selector/namespaces/${i}`, `target namespace ${String(ns)} is protected`);
        }
      }
    }
    if (r.maxDuration && parseDuration(spec.duration) > parseDuration(r.maxDuration)) {
      throw violation('maxDuration', '/spec/duration', `duration ${spec.duration} is longer than the allowed ${formatDuration(parseDuration(r.maxDuration))}`);
    }
    const mode = spec.targets?.mode;
    const value = spec.targets?.value ? Number(spec.targets.value) : undefined;
    if (r.maxTargetPercent !== undefined && (mode === 'fixed-percent' || mode === 'random-max-percent') && value !== undefined && value > r.maxTargetPercent) {
      throw violation('maxTargetPercent', '/spec/targets/value', `${value}% of the targets is more than the allowed ${r.maxTargetPercent}%`);
    }
    if (r.maxTargets !== undefined && mode === 'fixed' && value !== undefined && value > r.maxTargets) {
      throw violation('maxTargets', '/spec/targets/value', `${value} targets are more than the allowed ${r.maxTargets}`);
    }
    const procRegex = spec.targets?.selector?.processName;
    if (procRegex) {
      for (const re of this.protectedNames) {
        // The protected pattern itself, when it is a plain name, is the obvious example.
        const hit = selectorReaches(procRegex, re, [re.source]);
        if (hit) throw violation('protectedProcessNames', '/spec/targets/selector/processName', `processName ${JSON.stringify(procRegex)} reaches protected process ${hit}`);
      }
    }
  }

  /** Before a run starts: refuses (409) when the concurrency limit is reached. */
  checkConcurrency(activeExperiments: number): void {
    const max = this.rules.maxConcurrentExperiments;
    if (max !== undefined && activeExperiments >= max) {
      throw violation('maxConcurrentExperiments', '/', `${activeExperiments} experiments are active and at most ${max} may run at once`, 409);
    }
  }

  /** After target resolution, before injecting: protected processes and the share of the set. */
  checkTargets(selected: ResolvedTargetInfo[], candidates: number): void {
    const r = this.rules;
    for (const t of selected) {
      if (t.processName && this.protectedNames.some((re) => re.test(t.processName!))) {
        throw violation('protectedProcessNames', '/spec/targets', `target ${t.description} is the protected process ${t.processName}`);
      }
    }
    if (r.maxTargets !== undefined && selected.length > r.maxTargets) {
      throw violation('maxTargets', '/spec/targets', `${selected.length} targets are more than the allowed ${r.maxTargets}`);
    }
    if (r.maxTargetPercent !== undefined && selected.length > 1 && candidates > 0) {
      const pct = (selected.length / candidates) * 100;
      if (pct > r.maxTargetPercent) {
        throw violation('maxTargetPercent', '/spec/targets', `${selected.length} of ${candidates} targets (${Math.round(pct)}%) is more than the allowed ${r.maxTargetPercent}%`);
      }
    }
  }
}

export function parsePolicy(text: string, what = 'policy file'): Policy {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw ApiError.invalid(`${what} is not YAML or JSON: ${(err as Error).message}`);
  }
  return new Policy(validate(BlastRadiusPolicy, doc ?? {}, what));
}

export function loadPolicy(file: string | undefined): Policy {
  if (!file) return new Policy({});
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw ApiError.invalid(`cannot read policy file ${file}: ${(err as Error).message}`);
  }
  return parsePolicy(text, `policy file ${file}`);
}
