import { createRequire } from 'node:module';
import { parseUserRegex, type UserRegex } from '../api/regex';
import { globToRegExp } from '../daemon/proxy/http-match';
import { printTable, summarize } from './stats';

// The regex worst cases of issue 15 beside the old engine's. The old engine is JavaScript's RegExp,
// compiled exactly as the code did before (selectors unanchored, guard matchers as ^(?:re)$ with the
// s flag, header rules as ^(?:re)$, globs turned into a RegExp); the new one is RE2 (re2js) behind
// api/regex.ts. The old engine's input grows until one test takes CAP_MS (then it stops: it is
// exponential, the next step would take twice as long); RE2 runs on the same input and on inputs
// far longer. A last table shows the price on ordinary inputs, and re2-wasm when it is installed.

const CAP_MS = Number(process.env.BENCH_REGEX_CAP_MS ?? 1000);

interface Case {
  name: string;
  pattern: string;
  /** The old code's compile. */
  old: () => RegExp;
  /** The new code's compile. */
  re2: () => UserRegex;
  /** The hostile input of size n. */
  input: (n: number) => string;
  /** Size to start from, and how it grows (exponential cases +1, polynomial ones ×2). */
  from: number;
  grow: (n: number) => number;
}

// The old globToRegExp, as it was.
function oldGlob(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const A = (n: number) => 'a'.repeat(n);
const GLOB = '/**a**a**a**a**b';

const CASES: Case[] = [
  { name: 'selector processName (cmdline)', pattern: '^(a+)+Q', old: () => new RegExp('^(a+)+Q'), re2: () => parseUserRegex('^(a+)+Q', false), input: A, from: 16, grow: (n) => n + 1 },
  { name: 'guard matcher (alert label)', pattern: 'service=~"(a+)+b"', old: () => new RegExp('^(?:(a+)+b)$', 's'), re2: () => parseUserRegex('(a+)+b', true), input: A, from: 16, grow: (n) => n + 1 },
  { name: 'http-fault pathRegex', pattern: '^/(a+)+b$', old: () => new RegExp('^/(a+)+b$'), re2: () => parseUserRegex('^/(a+)+b$', false), input: (n) => `/${A(n)}`, from: 16, grow: (n) => n + 1 },
  { name: 'http-fault header rule', pattern: '(a|aa)+b', old: () => new RegExp('^(?:(a|aa)+b)$'), re2: () => parseUserRegex('(a|aa)+b', true), input: A, from: 16, grow: (n) => n + 1 },
  { name: 'http-fault path glob', pattern: GLOB, old: () => oldGlob(GLOB), re2: () => globToRegExp(GLOB), input: (n) => `/${A(n)}`, from: 64, grow: (n) => n * 2 },
];

function once(re: { test(s: string): boolean }, s: string): number {
  const t0 = performance.now();
  re.test(s);
  return performance.now() - t0;
}

/** Median of `reps` runs (after one warm-up), in ms. */
function timed(re: { test(s: string): boolean }, s: string, reps = 7): number {
  re.test(s);
  return summarize(Array.from({ length: reps }, () => once(re, s))).p50;
}

function loadRe2Wasm(): ((p: string) => { test(s: string): boolean }) | undefined {
  try {
    const { RE2 } = createRequire(import.meta.url)('re2-wasm') as { RE2: new (p: string, f: string) => { test(s: string): boolean } };
    return (p) => new RE2(p, 'u');
  } catch {
    return undefined;
  }
}

export async function benchRegex() {
  const worst: Record<string, unknown>[] = [];
  for (const c of CASES) {
    const old = c.old();
    let n = c.from;
    let oldMs = once(old, c.input(n));
    while (oldMs < CAP_MS) {
      n = c.grow(n);
      oldMs = once(old, c.input(n));
    }
    const re = c.re2();
    const re2Ms = timed(re, c.input(n));
    worst.push({
      case: c.name,
      pattern: c.pattern,
      'input chars': c.input(n).length,
      'RegExp ms': oldMs,
      'RE2 ms': re2Ms,
      'RegExp/RE2': Math.round(oldMs / Math.max(re2Ms, 0.001)),
      'RE2 ms @100k': timed(re, c.input(100_000), 3),
      'RE2 ms @1M': timed(re, c.input(1_000_000), 3),
    });
  }
  printTable(`regex worst case: the old engine (RegExp) grown until one test takes ≥ ${CAP_MS} ms, RE2 on the same input and on 100k / 1M characters`, worst);

  // What RE2 costs where nothing is hostile: a processName selector over 300 command lines, and the
  // compile of a guard matcher (done once per distinct matcher, cached).
  const lines = Array.from({ length: 300 }, (_, i) => `/usr/bin/python3 -m worker --id ${i} --queue jobs-${i % 7} --config /etc/app/${i}.yaml`);
  const scan = (re: { test(s: string): boolean }) => summarize(Array.from({ length: 50 }, () => {
    const t0 = performance.now();
    for (const l of lines) re.test(l);
    return performance.now() - t0;
  })).p50;
  const compile = (fn: () => unknown) => summarize(Array.from({ length: 200 }, () => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  })).p50;
  const wasm = loadRe2Wasm();
  const sel = 'nginx|worker-\\d+';
  const guard = '(api|web)-[a-z]+\\d*';
  // RegExp is left out of the hostile column: it would not end.
  const ordinary: Record<string, unknown>[] = [
    { engine: 'RegExp (old)', 'scan 300 cmdlines ms': scan(new RegExp(sel)), 'compile ms': compile(() => new RegExp(`^(?:${guard})$`, 's')), '(a+)+b on 1M chars ms': '-' },
    { engine: 're2js (new)', 'scan 300 cmdlines ms': scan(parseUserRegex(sel, false)), 'compile ms': compile(() => parseUserRegex(guard, true)), '(a+)+b on 1M chars ms': timed(parseUserRegex('(a+)+b', true), A(1_000_000), 3) },
  ];
  if (wasm) {
    ordinary.push({
      engine: 're2-wasm (measured only)',
      'scan 300 cmdlines ms': scan(wasm(sel)),
      'compile ms': compile(() => wasm(`^(?s:${guard})$`)),
      '(a+)+b on 1M chars ms': timed(wasm('^(?s:(a+)+b)$'), A(1_000_000), 3),
    });
  }
  printTable('ordinary inputs: what a linear engine costs where nothing is hostile (and re2-wasm, the alternative)', ordinary);
  return { capMs: CAP_MS, worst, ordinary };
}
