import type { TSchema } from '@sinclair/typebox';
import type { KindSpec } from '../api/kinds/types';
import { CliError, EXIT } from './client';
import { nearest } from './suggest';

// The flags of `faultline inject <kind>`, generated from the kind's TypeBox schema (api/kinds/), so
// every registered kind gets them and a new param needs no CLI change: each param becomes
// --kebab-case-of-it, its help is the schema's description (plus choices and default). Values are
// turned into the schema's types here (a number flag must read as a number), then the kind's own
// schema checks them (api/validate.ts, the same check the exporter makes), and every error names
// the flag it came from.

/** How a flag's text becomes the param's value. */
export type FlagShape = 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'list' | 'structured';

export interface KindFlag {
  param: string;
  /** the flag without dashes, e.g. "grace-period-seconds" */
  flag: string;
  shape: FlagShape;
  /** for 'list': the shape of each comma-separated item */
  item?: Exclude<FlagShape, 'list' | 'structured'>;
  choices?: string[];
  required: boolean;
  help: string;
}

type Schema = TSchema & { type?: string; anyOf?: Schema[]; const?: unknown; items?: Schema; description?: string; default?: unknown; minimum?: number; maximum?: number; maxItems?: number };

export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function literals(s: Schema): string[] | undefined {
  if (s.anyOf && s.anyOf.every((x) => x.const !== undefined)) return s.anyOf.map((x) => String(x.const));
  return undefined;
}

function scalarShape(s: Schema): Exclude<FlagShape, 'list' | 'structured'> | undefined {
  if (literals(s)) return 'enum';
  if (s.type === 'number' || s.type === 'integer' || s.type === 'string' || s.type === 'boolean') return s.type;
  return undefined;
}

function range(s: Schema): string {
  if (s.minimum !== undefined && s.maximum !== undefined) return `${s.minimum}–${s.maximum}`;
  if (s.minimum !== undefined) return `≥ ${s.minimum}`;
  if (s.maximum !== undefined) return `≤ ${s.maximum}`;
  return '';
}

/** One flag per param of the kind, in the schema's order. */
export function kindFlags(spec: Pick<KindSpec, 'params'>): KindFlag[] {
  const params = spec.params as unknown as { properties: Record<string, Schema>; required?: string[] };
  const required = new Set(params.required ?? []);
  return Object.entries(params.properties).map(([param, s]) => {
    const scalar = scalarShape(s);
    const item = s.type === 'array' && s.items ? scalarShape(s.items) : undefined;
    const shape: FlagShape = scalar ?? (item ? 'list' : 'structured');
    const choices = literals(s) ?? (item === 'enum' && s.items ? literals(s.items) : undefined);
    const parts = [s.description ?? (s.items?.description && shape === 'list' ? s.items.description : '')];
    if (choices) parts.push(`one of ${choices.join(', ')}`);
    if ((shape === 'number' || shape === 'integer') && !parts[0].includes(range(s))) parts.push(range(s));
    if (shape === 'list') parts.push(`comma-separated or repeated${s.maxItems ? `, at most ${s.maxItems}` : ''}`);
    if (shape === 'structured') parts.push(`YAML or JSON ${s.type === 'array' ? 'list' : 'object'}, e.g. ${s.type === 'array' ? "'[{...}]'" : "'{...}'"} (see faultline get kinds -o yaml)`);
    if (s.default !== undefined) parts.push(`default ${typeof s.default === 'string' ? s.default : JSON.stringify(s.default)}`);
    else if (required.has(param)) parts.push('required');
    return { param, flag: kebab(param), shape, item, choices, required: required.has(param) && s.default === undefined, help: parts.filter(Boolean).join('; ') };
  });
}

/** Its argument as commander writes it in help: `--percent <number>`. */
export function flagSpec(f: KindFlag): string {
  if (f.shape === 'boolean') return `--${f.flag}`;
  const arg = f.shape === 'list' ? `${f.item === 'number' || f.item === 'integer' ? 'numbers' : 'values'}` : f.shape === 'structured' ? 'yaml' : f.shape === 'enum' ? 'value' : f.shape;
  return `--${f.flag} <${arg}>`;
}

const NUMBER = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

function scalar(f: KindFlag, shape: Exclude<FlagShape, 'list' | 'structured'>, text: string): unknown {
  const name = `--${f.flag}`;
  if (shape === 'number' || shape === 'integer') {
    const n = NUMBER.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isFinite(n)) throw new CliError(`${name} must be a number, not ${JSON.stringify(text)}`, EXIT.invalid);
    if (shape === 'integer' && !Number.isSafeInteger(n)) throw new CliError(`${name} must be a whole number${Number.isInteger(n) ? ' of at most 15 digits' : ''}, not ${JSON.stringify(text)}`, EXIT.invalid);
    return n;
  }
  if (shape === 'boolean') {
    if (/^(true|yes|1)$/i.test(text)) return true;
    if (/^(false|no|0)$/i.test(text)) return false;
    throw new CliError(`${name} must be true or false, not ${JSON.stringify(text)}`, EXIT.invalid);
  }
  if (shape === 'enum' && f.choices && !f.choices.includes(text)) {
    const near = nearest(text, f.choices);
    throw new CliError(`${name} must be one of ${f.choices.join(', ')}, not ${JSON.stringify(text)}${near ? `: did you mean ${near}?` : ''}`, EXIT.invalid);
  }
  return text;
}

/**
 * The params object from the flags' texts (commander's values: a string, a list of strings for
 * repeated flags, true for a boolean flag given bare). A value that cannot have the param's type is a
 * usage error naming the flag; ranges and patterns are left to the kind's schema.
 */
export function paramsFromFlags(flags: readonly KindFlag[], values: Record<string, unknown>, yamlParse: (text: string) => unknown): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const f of flags) {
    const v = values[f.param];
    if (v === undefined) continue;
    const texts = (Array.isArray(v) ? v : [v]).map((x) => (x === true ? 'true' : String(x)));
    if (f.shape === 'list') {
      params[f.param] = texts
        .flatMap((t) => t.split(','))
        .map((t) => t.trim())
        .filter((t) => t !== '')
        .map((t) => scalar(f, f.item!, t));
    } else if (f.shape === 'structured') {
      const text = texts[texts.length - 1];
      try {
        params[f.param] = yamlParse(text);
      } catch (err) {
        throw new CliError(`--${f.flag} must be YAML or JSON: ${(err as Error).message.split('\n')[0]}`, EXIT.invalid);
      }
    } else {
      params[f.param] = scalar(f, f.shape, texts[texts.length - 1]);
    }
  }
  return params;
}

/** A JSON pointer under the params ("/percent", "/toxics/0/latency") as the flag that set it. */
export function flagForParamPointer(flags: readonly KindFlag[], pointer: string): string | undefined {
  const [, head, ...rest] = pointer.split('/');
  const f = flags.find((x) => x.param === head);
  if (!f) return undefined;
  return rest.length && f.shape === 'structured' ? `--${f.flag} (at /${rest.join('/')})` : `--${f.flag}`;
}
