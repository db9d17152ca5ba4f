// Chaos Mesh DNSChaos patterns (shape checked by api/kinds/dns-fault.ts): `?` is one character, `*` any
// run of characters, dots included; case-insensitive, trailing dot ignored. Matched with the classic
// two-pointer glob walk (backtracking only to the last `*`), so a hostile name costs O(name × pattern)
// at worst — both at most 255 characters — and no regex is built from user text.

export type NameMatcher = (name: string) => boolean;

function norm(s: string): string {
  const l = s.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function compilePatterns(patterns: readonly string[]): NameMatcher {
  const ps = patterns.map(norm);
  return (name) => {
    const n = norm(name);
    return ps.some((p) => globMatch(p, n));
  };
}
