import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { CliError, EXIT } from './client';

// Reads experiment documents from a file or stdin ("-"): YAML (several documents separated by
// ---) or JSON (one object, or an array / a {items: [...]} list).

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readDocuments(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.invalid);
  }
  const docs = YAML.parseAllDocuments(text);
  const out: unknown[] = [];
  for (const [i, d] of docs.entries()) {
    if (d.errors.length) {
      const e = d.errors[0];
      const pos = e.linePos?.[0];
      // the offending line with a caret under the column, as compilers show it
      const shown = pos ? `\n  ${pos.line} | ${text.split('\n')[pos.line - 1] ?? ''}\n  ${' '.repeat(String(pos.line).length)} | ${' '.repeat(Math.max(0, pos.col - 1))}^` : '';
      throw new CliError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: document ${i + 1} is not valid YAML or JSON: ${e.message.split('\n')[0]}${shown}`, EXIT.invalid);
    }
    const v = d.toJS() as unknown;
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) out.push(...v);
    else if (typeof v === 'object' && Array.isArray((v as { items?: unknown }).items)) out.push(...(v as { items: unknown[] }).items);
    else out.push(v);
  }
  if (out.length === 0) throw new CliError(`${file} holds no documents`, EXIT.invalid);
  for (const [i, v] of out.entries()) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError(`${file}: document ${i + 1} is not an object`, EXIT.invalid);
  }
  return out;
}

/** The namespace/name a document names (for messages), with the CLI's namespace as default. */
export function docRef(doc: unknown, namespace: string): { namespace: string; name: string } {
  const md = ((doc as { metadata?: { name?: unknown; namespace?: unknown } }).metadata ?? {}) as { name?: unknown; namespace?: unknown };
  return { namespace: typeof md.namespace === 'string' ? md.namespace : namespace, name: typeof md.name === 'string' ? md.name : '?' };
}

/** Fills metadata.namespace from -n when the document has none. */
export function withNamespace(doc: unknown, namespace: string): unknown {
  const d = doc as { metadata?: Record<string, unknown> };
  if (d.metadata && typeof d.metadata === 'object' && d.metadata.namespace === undefined) return { ...d, metadata: { ...d.metadata, namespace } };
  return doc;
}

/** Whether every field the user gave has the same value in `have` (server defaults ignored). */
export function subsetEqual(want: unknown, have: unknown): boolean {
  if (want === null || typeof want !== 'object') return want === have;
  if (Array.isArray(want)) return Array.isArray(have) && want.length === have.length && want.every((w, i) => subsetEqual(w, have[i]));
  if (have === null || typeof have !== 'object') return false;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) => subsetEqual(v, (have as Record<string, unknown>)[k]));
}
