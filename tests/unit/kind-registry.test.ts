import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KIND_NAMES, KIND_SPECS } from '../../api/kinds/index';
import { FAULT_KINDS } from '../../daemon/faults/index';

// The registry (api/kinds/index.ts) is the one list of kinds; these tests fail when a kind file exists in
// api/kinds/ or daemon/faults/ without being registered, or a registered kind lacks its file or its code.

const root = join(__dirname, '..', '..');
const tsFiles = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));

/** A daemon/faults file is a kind's when it default-exports the result of defineFault/defineNftFault/defineQdiscFault. */
const definesFault = (name: string) => /^export default define\w*Fault\(/m.test(readFileSync(join(root, 'daemon/faults', `${name}.ts`), 'utf8'));

describe('kind registry', () => {
  it('names each kind once, alphabetically', () => {
    expect(new Set(KIND_NAMES).size).toBe(KIND_NAMES.length);
    expect([...KIND_NAMES]).toEqual([...KIND_NAMES].sort());
  });

  it('registers exactly the spec files in api/kinds/, each named after its kind', () => {
    const files = tsFiles('api/kinds').filter((f) => f !== 'index' && f !== 'types');
    expect(files.sort()).toEqual([...KIND_NAMES].sort());
    for (const name of files) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- each file's default export, by its file name
      expect((require(join(root, 'api/kinds', name)) as { default: unknown }).default).toBe(KIND_SPECS.find((s) => s.kind === name));
    }
  });

  it('has daemon code in daemon/faults/<kind>.ts for every non-Kubernetes kind, and no unregistered kind file there', () => {
    const daemonKinds = KIND_SPECS.filter((s) => s.scope !== 'pod').map((s) => s.kind);
    expect(tsFiles('daemon/faults').filter(definesFault).sort()).toEqual([...daemonKinds].sort());
    expect(FAULT_KINDS.map((k) => k.spec.kind)).toEqual(daemonKinds);
    for (const name of daemonKinds) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- each file's default export, by its file name
      const code = (require(join(root, 'daemon/faults', name)) as { default: (typeof FAULT_KINDS)[number] }).default;
      expect(FAULT_KINDS).toContain(code);
      expect(code.spec).toBe(KIND_SPECS.find((s) => s.kind === name)); // the same object, not a copy
      expect(typeof code.inject).toBe('function');
      expect(typeof code.recover).toBe('function');
    }
  });

  it('gives each kind a params schema that refuses unknown fields', () => {
    for (const spec of KIND_SPECS) {
      expect(spec.params.type).toBe('object');
      expect(spec.params.additionalProperties).toBe(false);
    }
  });
});
