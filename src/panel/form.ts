import type { TSchema } from '@sinclair/typebox';
import { ExperimentInput as ExperimentInputSchema } from '../../api/experiment';
import { kindSpec } from '../../api/kinds';
import { kindProblems } from '../../api/kinds/types';
import { check } from '../../api/validate';
import type { ErrorDetail, ExperimentInput, JsonSchema, KindInfo, LaunchFormState, TargetMode } from './types';

// The launch form's model: text as typed → ExperimentInput, checked with the same schemas and the
// same validator (api/validate.ts) the exporter uses, so the panel and the server agree. Errors are
// keyed by JSON pointer ("/spec/fault/params/percent"), the same pointers the exporter's 400 names.

export const MODES_WITH_VALUE: readonly TargetMode[] = ['fixed', 'fixed-percent', 'random-max-percent'];
const SELECTOR_LISTS = ['pids', 'cgroups', 'netns', 'daemons'] as const;

/** The params schema of a kind: the exporter's (GET /kinds), else the one compiled into the panel. */
export function paramsSchema(kind: KindInfo | undefined): JsonSchema {
  if (kind?.schema && typeof kind.schema === 'object') return kind.schema;
  return (kind && (kindSpec(kind.kind)?.params as unknown as JsonSchema)) || { type: 'object', properties: {} };
}

/** Literal choices of a field (`anyOf` of consts as TypeBox writes unions, or `enum`), else undefined. */
export function choicesOf(schema: JsonSchema): string[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum.map(String);
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts && alts.length > 0 && alts.every((a) => a.const !== undefined)) return alts.map((a) => String(a.const));
  return undefined;
}

export function typeOf(schema: JsonSchema): string {
  if (choicesOf(schema)) return 'choice';
  const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  return t ?? 'string';
}

/** A value as the form shows it: lists comma-separated. */
export function toText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

const splitList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Text → the type the schema wants; undefined when empty. Not-a-number stays text so the validator names it. */
export function fromText(schema: JsonSchema, text: string): unknown {
  const t = typeOf(schema);
  if (t === 'array') {
    const list = splitList(text);
    if (list.length === 0) return undefined;
    return list.map((item) => fromText(schema.items ?? {}, item));
  }
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (t === 'integer' || t === 'number') return /^-?[0-9]+(\.[0-9]+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
  if (t === 'boolean') return trimmed === 'true' ? true : trimmed === 'false' ? false : trimmed;
  return trimmed;
}

/** Each param's default as text (empty when it has none). */
export function defaultParams(schema: JsonSchema): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) out[name] = toText(prop.default);
  return out;
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 7).padEnd(5, '0');
}

export function defaultName(kind: string): string {
  return `${kind || 'experiment'}-${randomSuffix()}`.slice(0, 63);
}

export function emptyForm(kind: KindInfo | undefined, namespace = 'default'): LaunchFormState {
  return {
    name: defaultName(kind?.kind ?? ''),
    namespace: namespace || 'default',
    kind: kind?.kind ?? '',
    params: defaultParams(paramsSchema(kind)),
    selector: { pids: '', processName: '', cgroups: '', netns: '', daemons: '' },
    mode: 'all',
    value: '',
    duration: '1m',
    alerts: [],
    promql: [],
  };
}

export interface Built {
  body: ExperimentInput;
  /** Maps a pointer in the body back to the form (guard rows that were left empty are skipped in the body). */
  toForm(pointer: string): string;
}

/** Form → request body. Empty optional fields are left out so the exporter applies its defaults. */
export function buildInput(form: LaunchFormState, kind: KindInfo | undefined): Built {
  const schema = paramsSchema(kind);
  const params: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const value = fromText(prop, form.params[name] ?? '');
    if (value !== undefined) params[name] = value;
  }

  const selector: Record<string, unknown> = {};
  const pids = fromText({ type: 'array', items: { type: 'integer' } }, form.selector.pids);
  if (pids !== undefined) selector.pids = pids;
  if (form.selector.processName.trim()) selector.processName = form.selector.processName.trim();
  for (const key of SELECTOR_LISTS) {
    if (key === 'pids') continue;
    const list = splitList(form.selector[key]);
    if (list.length) selector[key] = list;
  }
  const hasSelector = Object.keys(selector).some((k) => k !== 'daemons');

  const spec: ExperimentInput['spec'] = { fault: { kind: form.kind, params }, duration: form.duration.trim() };
  if (hasSelector || selector.daemons || form.mode !== 'all' || form.value.trim()) {
    spec.targets = { selector, mode: form.mode, ...(form.value.trim() ? { value: form.value.trim() } : {}) } as ExperimentInput['spec']['targets'];
  }

  const alertRows = form.alerts.map((a, i) => ({ a: a.trim(), i })).filter((r) => r.a !== '');
  const promqlRows = form.promql.map((p, i) => ({ p, i })).filter((r) => r.p.expr.trim() !== '' || r.p.for.trim() !== '');
  if (alertRows.length || promqlRows.length) {
    spec.guards = {};
    if (alertRows.length) spec.guards.alerts = alertRows.map((r) => r.a);
    if (promqlRows.length) {
      spec.guards.promql = promqlRows.map((r) => ({ expr: r.p.expr.trim(), ...(r.p.for.trim() ? { for: r.p.for.trim() } : {}) })) as NonNullable<
        ExperimentInput['spec']['guards']
      >['promql'];
    }
  }

  const body: ExperimentInput = { metadata: { name: form.name.trim(), namespace: form.namespace.trim() || 'default' }, spec };
  const toForm = (pointer: string) =>
    pointer
      .replace(/^\/spec\/guards\/alerts\/([0-9]+)/, (_m, n: string) => `/spec/guards/alerts/${alertRows[Number(n)]?.i ?? n}`)
      .replace(/^\/spec\/guards\/promql\/([0-9]+)/, (_m, n: string) => `/spec/guards/promql/${promqlRows[Number(n)]?.i ?? n}`);
  return { body, toForm };
}

/** Where an error is shown: the form field's key, or undefined for the general list. */
export function fieldKey(pointer: string): string {
  const p = pointer.replace(/^\/params\//, '/spec/fault/params/');
  const parts = p.split('/');
  if (p.startsWith('/spec/fault/params/') || p.startsWith('/spec/targets/selector/')) return parts.slice(0, 5).join('/');
  if (p.startsWith('/spec/guards/promql/')) return parts.slice(0, 6).join('/');
  if (p.startsWith('/spec/guards/alerts/')) return parts.slice(0, 5).join('/');
  if (/^\/(metadata\/(name|namespace)|spec\/(duration|fault\/kind|targets\/(mode|value|selector)))$/.test(p)) return p;
  if (p === '/spec/targets') return '/spec/targets/selector';
  return '';
}

export interface FormErrors {
  /** First reason per field key. */
  fields: Record<string, string>;
  /** Errors no field shows (the form lists them at the top). */
  other: ErrorDetail[];
}

/**
 * Pattern errors other than the units (which api/validate words itself) name a regular expression;
 * users get its description instead: "must match ^…$ (a network interface name)" → "must be: a network interface name".
 */
export function readable(reason: string): string {
  const m = /^must match \S+ \((.+)\)$/.exec(reason);
  if (m) return `must be: ${m[1]}`;
  if (/^must match pattern /.test(reason)) return 'has the wrong format';
  return reason;
}

/** Sorts error details onto the fields that show them. */
export function sortErrors(details: ErrorDetail[], toForm: (p: string) => string = (p) => p): FormErrors {
  const fields: Record<string, string> = {};
  const other: ErrorDetail[] = [];
  for (const d of details) {
    const key = fieldKey(toForm(d.field));
    if (!key) other.push({ field: d.field, reason: readable(d.reason) });
    else fields[key] ??= readable(d.reason);
  }
  return { fields, other };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Checks the form as the exporter will; empty `fields` and `other` mean it may be sent. */
export function validateForm(form: LaunchFormState, kind: KindInfo | undefined): { built: Built; errors: FormErrors } {
  const built = buildInput(form, kind);
  const { body } = built;
  const details: ErrorDetail[] = [];
  if (!form.kind) details.push({ field: '/spec/fault/kind', reason: 'pick a fault kind' });
  // clone: the validator fills defaults in place, the body must stay as the user typed it.
  details.push(...check(ExperimentInputSchema as TSchema, clone(body)));
  if (kind) {
    const params = clone(body.spec.fault.params);
    const schemaErrors = check(paramsSchema(kind) as unknown as TSchema, params, '/spec/fault/params');
    details.push(...schemaErrors);
    // and what the exporter checks beyond the schema (api/kinds: the kind's own check), once the schema is met
    const spec = kindSpec(kind.kind);
    if (!schemaErrors.length && spec) details.push(...kindProblems(spec, params, '/spec/fault/params'));
  }
  const selector = (body.spec.targets?.selector ?? {}) as Record<string, unknown>;
  if (kind?.targetRequired && !Object.keys(selector).some((k) => k !== 'daemons')) {
    details.push({ field: '/spec/targets/selector', reason: 'pick at least one target: a process, PIDs, a process name, a cgroup or a network namespace' });
  }
  if (MODES_WITH_VALUE.includes(form.mode) && !form.value.trim()) {
    details.push({ field: '/spec/targets/value', reason: form.mode === 'fixed' ? 'how many targets? (a count)' : 'what share of the targets? (a percent)' });
  }
  return { built, errors: sortErrors(details, built.toForm) };
}

export const hasErrors = (e: FormErrors) => Object.keys(e.fields).length > 0 || e.other.length > 0;

/** A readable label for a param name: "maxItems" → "Max items". */
export function labelOf(name: string, schema?: JsonSchema): string {
  if (schema?.title) return schema.title;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
