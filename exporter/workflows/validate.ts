import { ApiError } from '../../api/errors';
import { parseDuration } from '../../api/units';
import { check as checkSchema } from '../../api/validate';
import { WorkflowInput, stepType, type Step, type StepStatus } from '../../api/workflow';
import { RUN_SUFFIX_LENGTH, validateInput } from '../engine/experiment-input';

// Workflow validation, apart from the engine that runs workflows (as engine/validate.ts is for
// experiments): the schema, each step's shape, each experiment step as the experiment it will
// become, and whether a PromQL check has a Prometheus to ask. Nothing is stored or started before
// all of it passes; every refusal is a 400 naming the field.

export interface ValidWorkflow {
  input: WorkflowInput;
  namespace: string;
  name: string;
  /** One status per step, in order (nested steps by their path). */
  steps: StepStatus[];
}

export function validateWorkflow(body: unknown, hasPrometheus: boolean): ValidWorkflow {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ApiError.invalid('invalid workflow: the body must be a JSON object', [{ field: '/', reason: 'must be an object' }]);
  }
  const input = structuredClone(body) as WorkflowInput;
  const details = checkSchema(WorkflowInput, input);
  if (details.length) throw ApiError.invalid(`invalid workflow: ${details[0].field} ${details[0].reason}`, details);
  const namespace = input.metadata.namespace ?? 'default';
  const name = input.metadata.name;
  const steps: StepStatus[] = [];
  checkSteps(input.spec.steps, '/spec/steps', '', namespace, name, steps, hasPrometheus);
  if (input.spec.deadline) parseDuration(input.spec.deadline);
  return { input, namespace, name, steps };
}

function checkSteps(list: Step[], at: string, prefix: string, namespace: string, wfName: string, out: StepStatus[], hasPrometheus: boolean): void {
  const seen = new Set<string>();
  list.forEach((s, i) => {
    const field = `${at}/${i}`;
    const type = stepType(s);
    if (!type) throw ApiError.invalid(`invalid workflow: ${field} must have exactly one of experiment, serial, parallel, suspend, check`, [{ field, reason: 'must have exactly one of experiment, serial, parallel, suspend, check' }]);
    if (seen.has(s.name)) throw ApiError.invalid(`invalid workflow: ${field}/name ${s.name} is used twice in the same group`, [{ field: `${field}/name`, reason: 'is used twice in the same group' }]);
    seen.add(s.name);
    const path = prefix ? `${prefix}/${s.name}` : s.name;
    out.push({ path, type, phase: 'Pending' });
    if (type === 'experiment') {
      const scheduled = s.experiment!.spec.schedule !== undefined;
      // A scheduled step must end by itself: its deadline is how long the schedule ticks. Without one
      // the schedule would tick for ever and the workflow never go on.
      if (scheduled) checkScheduledDeadline(s.deadline, `${field}/deadline`);
      try {
        validateInput({ metadata: { name: experimentName(wfName, path, scheduled), namespace }, spec: structuredClone(s.experiment!.spec) });
      } catch (err) {
        if (err instanceof ApiError && err.details) {
          const details = err.details.map((d) => ({ field: d.field.startsWith('/spec') ? `${field}/experiment${d.field}` : `${field}/name`, reason: d.reason }));
          throw ApiError.invalid(`invalid workflow: ${details[0].field} ${details[0].reason}`, details);
        }
        throw err;
      }
    }
    if (type === 'check') {
      const c = s.check!;
      if (!!c.promql === !!c.http) throw ApiError.invalid(`invalid workflow: ${field}/check needs exactly one of promql, http`, [{ field: `${field}/check`, reason: 'needs exactly one of promql, http' }]);
      if (c.promql && !hasPrometheus) throw ApiError.invalid(`invalid workflow: ${field}/check/promql needs the exporter to be started with --prometheus-url`, [{ field: `${field}/check/promql`, reason: 'needs --prometheus-url on the exporter' }]);
    }
    if (type === 'serial' || type === 'parallel') checkSteps(s[type]!.steps, `${field}/${type}/steps`, path, namespace, wfName, out, hasPrometheus);
  });
}

function checkScheduledDeadline(deadline: string | undefined, field: string): void {
  const why = 'is required for a step whose experiment has spec/schedule: how long the schedule ticks before the step stops it';
  if (deadline === undefined) throw ApiError.invalid(`invalid workflow: ${field} ${why}`, [{ field, reason: why }]);
  // the schema has checked the shape and the 168h cap; "0s" would end the schedule before its first tick
  if (!(parseDuration(deadline) >= 1000)) throw ApiError.invalid(`invalid workflow: ${field} must be at least 1s for a scheduled step`, [{ field, reason: 'must be at least 1s for a scheduled step' }]);
}

/**
 * The experiment a step creates: `<workflow>-<step path with dashes>`, cut to a valid 63-character name
 * (52 for a schedule, whose runs add `-<epoch seconds>`).
 */
export function experimentName(workflow: string, path: string, scheduled = false): string {
  return `${workflow}-${path.replace(/\//g, '-')}`.slice(0, scheduled ? 63 - RUN_SUFFIX_LENGTH : 63).replace(/-+$/, '');
}
