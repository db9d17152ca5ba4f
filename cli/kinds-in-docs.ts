import { KIND_NAMES } from '../api/kinds/index';
import { unknownKindError } from './suggest';

// `run`, `apply` and `import` read fault kinds from documents: a misspelt one is a usage error with
// the nearest registered kind, before anything is sent (so nothing of the file is created).

/** Every `fault: {kind}` in a document (an experiment's spec, a workflow's experiment steps), with its JSON pointer. */
function faultKinds(value: unknown, at: string, out: { at: string; kind: string }[]): void {
  if (Array.isArray(value)) value.forEach((v, i) => faultKinds(v, `${at}/${i}`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'fault' && v && typeof v === 'object' && typeof (v as { kind?: unknown }).kind === 'string') out.push({ at: `${at}/fault/kind`, kind: (v as { kind: string }).kind });
      else faultKinds(v, `${at}/${k}`, out);
    }
  }
}

/** Throws the usage error for the first unknown fault kind in `docs`. */
export function checkKinds(docs: readonly unknown[], file: string): void {
  for (const [i, doc] of docs.entries()) {
    const found: { at: string; kind: string }[] = [];
    faultKinds(doc, '', found);
    const bad = found.find((f) => !(KIND_NAMES as readonly string[]).includes(f.kind));
    if (bad) throw unknownKindError(bad.kind, KIND_NAMES, `${file}: document ${i + 1} ${bad.at}: `);
  }
}
