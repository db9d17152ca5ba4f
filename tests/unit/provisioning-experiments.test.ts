import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ExperimentInput } from '../../api/experiment';
import { KIND_SPECS } from '../../api/kinds/index';
import { validate } from '../../api/validate';
import { parseSelector, selectorMatches } from '../../exporter/guards/matchers';
import { PROVISIONING, readYaml } from '../helpers/stack';

// The example experiments shipped with the stack (provisioning/experiments/) are what a user
// applies first: each must pass the API's own validation, and each guard must match an alert
// the provisioned Prometheus rules really raise — a guard that matches nothing never stops anything.

const DIR = path.join(PROVISIONING, 'experiments');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const rules = readYaml(path.join(PROVISIONING, 'prometheus', 'rules.yml'));
/** The labels each provisioned alert fires with (alertname + the rule's own labels). */
const alertLabels: Record<string, string>[] = rules.groups
  .flatMap((g: any) => g.rules)
  .filter((r: any) => r.alert)
  .map((r: any) => ({ alertname: r.alert, ...(r.labels ?? {}) }));

describe.each(files)('provisioning/experiments/%s', (file) => {
  const doc = readYaml(path.join(DIR, file));

  it('is a valid Experiment with valid params for its kind', () => {
    const e = validate(ExperimentInput, structuredClone(doc), 'experiment');
    const kind = KIND_SPECS.find((k) => k.kind === e.spec.fault.kind);
    expect(kind).toBeDefined();
    validate(kind!.params, structuredClone(e.spec.fault.params), 'params', '/spec/fault/params');
  });

  it('is guarded by an alert the provisioned rules raise', () => {
    const guards: string[] = doc.spec.guards?.alerts ?? [];
    expect(guards.length).toBeGreaterThan(0);
    for (const g of guards) {
      const sel = parseSelector(g);
      expect({ guard: g, matchesAnAlert: alertLabels.some((labels) => selectorMatches(sel, labels)) }).toEqual({ guard: g, matchesAnAlert: true });
    }
  });
});

it('ships at least one example experiment', () => {
  expect(files.length).toBeGreaterThan(0);
});
