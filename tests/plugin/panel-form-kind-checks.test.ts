import { kindSpec } from '../../api/kinds';
import { emptyForm, validateForm } from '../../src/panel/form';
import type { KindInfo } from '../../src/panel/types';

// The launch form runs the kind's own check (api/kinds: what the params schema cannot say), the one the
// exporter runs at create: a tcp-fault with both `port` and `listen` is named on its field before anything
// is sent, instead of a 201 and a Failed inject.

const info = (kind: string): KindInfo => {
  const spec = kindSpec(kind)!;
  return { kind, title: spec.title, description: spec.description, scope: spec.scope, targetRequired: spec.targetRequired, requires: spec.requires, schema: JSON.parse(JSON.stringify(spec.params)) };
};

test.each([
  ['tcp-fault', { port: '8080', listen: '127.0.0.1:0', upstream: '127.0.0.1:80' }, '/spec/fault/params/listen', /explicit mode/],
  ['tcp-fault', { listen: '127.0.0.1:0' }, '/spec/fault/params/upstream', /required with listen/],
  ['http-fault', { port: '8080' }, '/spec/fault/params/delay', /at least one action/],
  ['network-loss', { percent: '10', protocol: 'icmp', ports: '80' }, '/spec/fault/params/ports', /not icmp/],
])('%s %j: named on its field', (kind, params, field, reason) => {
  const k = info(kind);
  const form = emptyForm(k);
  form.params = { ...form.params, ...params };
  const { errors } = validateForm(form, k);
  expect(errors.fields[field]).toMatch(reason);
});

test('a proxy fault the daemon takes passes the form', () => {
  const k = info('tcp-fault');
  const form = emptyForm(k);
  form.params = { ...form.params, listen: '127.0.0.1:0', upstream: '127.0.0.1:80' };
  expect(validateForm(form, k).errors).toEqual({ fields: {}, other: [] });
});
