import { jsonDepth, MAX_JSON_DEPTH } from '../../server-common/json-body';

// The depth bound on request bodies counts objects and arrays on the raw bytes: brackets inside
// strings (with escaped quotes and backslashes) do not count, and counting stops past the limit.

const depth = (text: string, max?: number) => jsonDepth(Buffer.from(text), max);

it.each([
  ['1', 0],
  ['{}', 1],
  ['[[], {}]', 2],
  ['{"a": {"b": [1, {"c": null}]}}', 4],
  ['"[[[[{{{{"', 0],
  ['{"a": "\\"[[[["}', 1],
  ['{"a": "\\\\", "b": [[]]}', 3],
  ['["\\u005b[", []]', 2],
])('%s is %i deep', (text, d) => {
  expect(depth(text)).toBe(d);
});

it('stops counting past the limit, so a huge body costs no more than the limit says', () => {
  expect(depth('['.repeat(1_000_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
  expect(depth(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH);
});
