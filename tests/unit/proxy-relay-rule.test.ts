import { existsSync } from 'node:fs';
import { loadAddon } from '../../daemon/native/addon';
import { GLOB_TOKENS, globTokens, relayPrefilter } from '../../daemon/proxy/http-match';
import { NATIVE_RELAY_PATH } from '../../daemon/proxy/native-relay';

// What an http-fault's rule gives the native relay (http-match.ts relayPrefilter), and the addon's
// check of it at the JavaScript → C boundary (relay-http.c http()): a bad value is refused with the
// field named, and nothing is configured (a later good call would still be the first).

const { star, doubleStar, one } = GLOB_TOKENS;

describe('relayPrefilter: what the relay thread can rule requests out by', () => {
  it('a path glob as tokens: bytes, * within a segment, ** across, ?', () => {
    expect(globTokens('/a*/**?')).toEqual([47, 97, star, 47, doubleStar, one]);
    expect(globTokens('/é')).toEqual([47, 0xe9]); // latin1, as the path's bytes are read
    expect(globTokens('/日本')).toBeUndefined(); // not one byte: left to RE2
  });

  it('methods upper-cased once each, the glob beside them; nothing to rule out by: no prefilter', () => {
    expect(relayPrefilter({ methods: ['get', 'GET', 'Post'], path: '/x' })).toEqual({ methods: ['GET', 'POST'], glob: [47, 120] });
    expect(relayPrefilter({ methods: ['DELETE'], path: '/日本' })).toEqual({ methods: ['DELETE'] });
    expect(relayPrefilter(undefined)).toBeUndefined();
    expect(relayPrefilter({ pathRegex: '^/x' })).toBeUndefined();
    expect(relayPrefilter({ path: '/日本' })).toBeUndefined();
  });

  it('the headers a rule reads, lower case: a request without one cannot match; names it cannot hold are left out', () => {
    expect(relayPrefilter({ headers: { 'X-Canary': 'yes', 'x-b': '' } })).toEqual({ headers: ['x-canary', 'x-b'] });
    expect(relayPrefilter({ headers: { ['X'.repeat(63)]: 'a' } })).toBeUndefined();
    expect(relayPrefilter({ headers: { ['X'.repeat(63)]: 'a', 'x-a': 'b' }, path: '/p' })).toEqual({ glob: [47, 112], headers: ['x-a'] });
    // methods are one-of: a set the relay cannot hold whole is not used at all
    expect(relayPrefilter({ methods: ['GET', 'M'.repeat(63)], path: '/p' })).toEqual({ glob: [47, 112] });
  });
});

const built = existsSync(NATIVE_RELAY_PATH);
const describeBuilt = built || process.env.CI === 'true' ? describe : describe.skip;

describeBuilt('the relay addon refuses a bad rule, naming the field', () => {
  interface Addon {
    http(rule: unknown, onHandoff: unknown): void;
    addHttp(client: number, upstream: number, label: unknown): void;
  }
  const addon = () => loadAddon<Addon>(NATIVE_RELAY_PATH, { env: 'FAULTLINE_TEST_UNUSED', value: 'off' }).addon!;
  const noop = () => undefined;

  it.each([
    ['methods not an array', { methods: 'GET' }, /^methods: an array of at most 64 strings of 1-62 bytes/],
    ['65 methods', { methods: Array(65).fill('GET') }, /^methods: an array/],
    ['an empty method', { methods: [''] }, /^methods: an array/],
    ['a method of 63 bytes', { methods: ['A'.repeat(63)] }, /^methods: an array/],
    ['a method that is a number', { methods: [42] }, /^methods: an array/],
    ['headers not an array', { headers: { 'x-a': 'b' } }, /^headers: an array of at most 64 strings of 1-62 bytes/],
    ['a header name of 63 bytes', { methods: ['GET'], headers: ['h'.repeat(63)] }, /^headers: an array/],
    ['a header name that is null', { headers: [null] }, /^headers: an array/],
    ['a glob token above 0x102', { methods: ['GET'], glob: [47, 0x103] }, /^glob: tokens are 0-0x102/],
    ['a negative glob token', { glob: [-1] }, /^glob: tokens/],
    ['1025 glob tokens', { glob: Array(1025).fill(47) }, /^glob: an array of at most 1024/],
    ['a glob that only says it is long', { glob: { length: 1e9 } }, /^glob: an array/],
  ])('%s', (_what, rule, message) => {
    expect(() => addon().http(rule, noop)).toThrow(message);
  });

  it('takes an object and a function; addHttp before http() is refused', () => {
    expect(() => addon().http(null, noop)).toThrow(/takes an object and a function/);
    expect(() => addon().http({}, 'not a function')).toThrow(/takes an object and a function/);
    expect(() => addon().addHttp(0, 1, 'label')).toThrow(/http\(\) was not called/);
    expect(() => addon().addHttp(0, 1, 42)).toThrow(/takes a label/);
  });
});
