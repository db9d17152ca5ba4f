import { ApiError } from '../../api/errors';
import { parseDuration } from '../../api/units';
import { check as checkSchema } from '../../api/validate';
import { WorkflowInput, stepType, type Step, type StepStatus } from '../../api/workflow';
import { validateInput } from '../engine/experiment-input';

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
      if (s.experiment!.spec.schedule) throw ApiError.invalid(`invalid workflow: ${field}/experiment/spec/schedule is not allowed in a workflow step`, [{ field: `${field}/experiment/spec/schedule`, reason: 'is not allowed in a workflow step' }]);
      try {
        validateInput({ metadata: { name: experimentName(wfName, path), namespace }, spec: structuredClone(s.experiment!.spec) });
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

/** The experiment a step creates: `<workflow>-<step path with dashes>`, cut to a valid 63-character name. */
export function experimentName(workflow: string, path: string): string {
  return `${workflow}-${path.replace(/\//g, '-')}`.slice(0, 63).replace(/-+$/, '');
}
