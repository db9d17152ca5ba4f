import { ApiError } from '../../api/errors';
import { ExperimentInput } from '../../api/experiment';
import { check, validate } from '../../api/validate';

// What a user reads when a document is wrong: each field once, with the values it may take.

const doc = (patch: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Experiment',
  metadata: { name: 'a' },
  spec: { fault: { kind: 'process-pause' }, targets: { selector: { pids: [10] }, mode: 'all' }, duration: '1m', ...spec },
  ...patch,
});

describe('validation errors name the field and what it may be', () => {
  it('a constant says its value', () => {
    expect(check(ExperimentInput, doc({ apiVersion: 'faultline.dev/v1' }))).toEqual([{ field: '/apiVersion', reason: 'must be "faultline.dev/v1alpha1"' }]);
  });

  it('a union of literals is one detail listing every member', () => {
    const details = check(ExperimentInput, doc({}, { targets: { selector: { pids: [10] }, mode: 'some' } }));
    expect(details).toEqual([{ field: '/spec/targets/mode', reason: 'must be one of "one", "all", "fixed", "fixed-percent", "random-max-percent"' }]);
  });

  it('a unit its pattern refuses is one detail in words, not a regular expression and a format error', () => {
    expect(check(ExperimentInput, doc({}, { duration: '5 minutes' }))).toEqual([{ field: '/spec/duration', reason: 'must be a duration such as 500ms, 30s, 5m or 1h30m' }]);
    // a duration has a maximum (api/units.ts MAX_DURATION_MS): the overflow that used to hang in Injecting
    expect(check(ExperimentInput, doc({}, { duration: '99999999999h' }))).toEqual([{ field: '/spec/duration', reason: 'must be at most 168h (7 days)' }]);
    expect(check(ExperimentInput, doc({}, { duration: '169h' }))).toEqual([{ field: '/spec/duration', reason: 'must be at most 168h (7 days)' }]);
    expect(check(ExperimentInput, doc({}, { duration: '168h' }))).toEqual([]);
  });

  it('unknown and missing fields, several at once; validate throws a 400 with the first in its message', () => {
    const bad = doc({ extra: 1 }, { duration: undefined });
    delete (bad.spec as Record<string, unknown>).duration;
    expect(check(ExperimentInput, bad)).toEqual(
      expect.arrayContaining([
        { field: '/extra', reason: 'is not a known field' },
        { field: '/spec/duration', reason: 'is required' },
      ]),
    );
    const err = (() => {
      try {
        validate(ExperimentInput, bad, 'experiment');
      } catch (e) {
        return e as ApiError;
      }
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect(err?.status).toBe(400);
    expect(err?.message).toMatch(/^invalid experiment: \/(extra is not a known field|spec\/duration is required)$/);
  });
});
