import { Cron } from 'croner';
import { ApiError } from '../../api/errors';
import { ExperimentInput } from '../../api/experiment';
import { KIND_NAMES, kindSpec } from '../../api/kinds/index';
import { kindProblems } from '../../api/kinds/types';
import { parseDuration } from '../../api/units';
import { validate } from '../../api/validate';
import { parseGuardSelectors } from '../guards/alerts';

// Everything a create/apply request must pass before anything is stored or injected: the
// Experiment schema, the kind's own params schema (errors under /spec/fault/params), the
// duration, the cron expression and the length a scheduled run's name will have.

/** Suffix a scheduled run adds to the schedule's name: "-" + epoch seconds (10 digits). */
export const RUN_SUFFIX_LENGTH = 11;

export function validateInput(body: unknown): ExperimentInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ApiError.invalid('invalid experiment: the body must be a JSON object', [{ field: '/', reason: 'must be an object' }]);
  }
  const input = validate(ExperimentInput, structuredClone(body), 'experiment');
  const spec = input.spec;
  const kind = kindSpec(spec.fault.kind);
  if (!kind) {
    throw ApiError.invalid(`invalid experiment: /spec/fault/kind ${JSON.stringify(spec.fault.kind)} is not a known fault kind`, [
      { field: '/spec/fault/kind', reason: `is not a known fault kind (known: ${KIND_NAMES.join(', ')})` },
    ]);
  }
  spec.fault.params = validate(kind.params, spec.fault.params ?? {}, 'experiment', '/spec/fault/params') as Record<string, unknown>;
  // what the schema cannot say (explicit vs transparent proxy, toxic attributes, ...): a 400 now, not a Failed inject
  const problems = kindProblems(kind, spec.fault.params, '/spec/fault/params');
  if (problems.length) throw ApiError.invalid(`invalid experiment: ${problems[0].field} ${problems[0].reason}`, problems);
  if (!(parseDuration(spec.duration) >= 1)) {
    throw ApiError.invalid('invalid experiment: /spec/duration must be at least 1ms', [{ field: '/spec/duration', reason: 'must be at least 1ms' }]);
  }
  if (spec.schedule !== undefined) {
    try {
      new Cron(spec.schedule, { paused: true }).stop();
    } catch (err) {
      throw ApiError.invalid(`invalid experiment: /spec/schedule is not a cron expression: ${(err as Error).message}`, [
        { field: '/spec/schedule', reason: `is not a cron expression: ${(err as Error).message}` },
      ]);
    }
    if (input.metadata.name.length > 63 - RUN_SUFFIX_LENGTH) {
      throw ApiError.invalid(`invalid experiment: /metadata/name is too long for a schedule`, [
        { field: '/metadata/name', reason: `must be at most ${63 - RUN_SUFFIX_LENGTH} characters with a schedule (each run is named <name>-<epoch seconds>)` },
      ]);
    }
    spec.concurrencyPolicy ??= 'Forbid';
    spec.historyLimit ??= 10;
  } else {
    // ajv fills the schema defaults in; they mean nothing without a schedule
    delete spec.concurrencyPolicy;
    delete spec.historyLimit;
  }
  // Alert guard matchers are checked here too, so a schedule with a bad one is refused at create.
  const bad = parseGuardSelectors(spec.guards?.alerts).errors;
  if (bad.length) {
    throw ApiError.invalid(`invalid experiment: /spec/guards/alerts/${bad[0].index} ${bad[0].reason}`, bad.map((e) => ({ field: `/spec/guards/alerts/${e.index}`, reason: e.reason })));
  }
  input.metadata.namespace ??= 'default';
  return input;
}
