import React from 'react';
import { Combobox, Field, Input, RadioButtonGroup } from '@grafana/ui';
import { choicesOf, labelOf, typeOf } from '../form';
import type { JsonSchema } from '../types';

// One input per property of a kind's params schema: the label, help, unit hint, limits and
// default all come from the schema, so a new fault kind gets its form without panel changes.

interface Props {
  name: string;
  schema: JsonSchema;
  required: boolean;
  value: string;
  error?: string;
  disabled?: boolean;
  onChange: (value: string) => void;
}

/** What the user may type, said once under the field: limits, units, default. */
export function hintOf(schema: JsonSchema, required: boolean): string {
  const parts: string[] = [];
  if (schema.description) parts.push(schema.description);
  const t = typeOf(schema);
  const item = t === 'array' ? (schema.items ?? {}) : schema;
  if (item.minimum !== undefined && item.maximum !== undefined) parts.push(`${item.minimum}–${item.maximum}`);
  else if (item.minimum !== undefined) parts.push(`at least ${item.minimum}`);
  else if (item.maximum !== undefined) parts.push(`at most ${item.maximum}`);
  if (t === 'array') parts.push('comma-separated');
  if (schema.default !== undefined) parts.push(`default ${Array.isArray(schema.default) ? schema.default.join(', ') : String(schema.default)}`);
  else if (!required) parts.push('optional');
  return parts.join(' · ');
}

const PLACEHOLDERS: Record<string, string> = { duration: '30s', size: '256MiB', rate: '8mbit' };

function placeholderOf(schema: JsonSchema): string | undefined {
  const t = typeOf(schema);
  if (t === 'array') return schema.items ? placeholderOf(schema.items)?.concat(', …') : undefined;
  if (schema.format && PLACEHOLDERS[schema.format]) return `e.g. ${PLACEHOLDERS[schema.format]}`;
  if (schema.default !== undefined) return String(schema.default);
  return undefined;
}

export function SchemaField({ name, schema, required, value, error, disabled, onChange }: Props) {
  const t = typeOf(schema);
  const id = `faultline-param-${name}`;
  const label = labelOf(name, schema);
  const choices = choicesOf(schema);
  const field = (child: React.ReactElement) => (
    <Field label={label} description={hintOf(schema, required)} required={required && schema.default === undefined} invalid={!!error} error={error} disabled={disabled}>
      {child}
    </Field>
  );

  if (choices) {
    const options = choices.map((c) => ({ label: c, value: c }));
    if (choices.length <= 4) {
      return field(<RadioButtonGroup id={id} options={options} value={value} onChange={(v) => onChange(String(v))} disabled={disabled} />);
    }
    return field(
      <Combobox id={id} options={options} value={value || null} onChange={(v) => onChange(v.value)} disabled={disabled} width={24} />,
    );
  }
  if (t === 'integer' || t === 'number') {
    return field(
      <Input
        id={id}
        type="number"
        value={value}
        min={schema.minimum}
        max={schema.maximum}
        step={t === 'integer' ? 1 : 'any'}
        suffix={schema.maximum === 100 ? '%' : undefined}
        placeholder={placeholderOf(schema)}
        onChange={(e) => onChange(e.currentTarget.value)}
        width={24}
      />,
    );
  }
  return field(<Input id={id} value={value} placeholder={placeholderOf(schema)} onChange={(e) => onChange(e.currentTarget.value)} width={t === 'array' ? 48 : 32} />);
}
