import { CHAOS_MESH_KINDS, importChaosMesh, isChaosMeshDocument, type ImportResult } from '../api/import/chaosmesh';
import { nearestAny } from './suggest';

// Lets `apply`, `run` and `import` take Chaos Mesh documents next to Faultline ones: Chaos Mesh
// documents are converted in place, and every field that could not be mapped is printed, so
// nothing is dropped in silence.

export interface Expanded {
  docs: unknown[];
  result: ImportResult;
}

/** Replaces each Chaos Mesh document with the experiments or workflow it maps to; Faultline documents pass through. */
export function expandChaosMesh(docs: unknown[]): Expanded {
  const out: unknown[] = [];
  const result: ImportResult = { experiments: [], workflows: [], unmapped: [], notes: [] };
  for (const doc of docs) {
    if (!isChaosMeshDocument(doc)) {
      out.push(doc);
      continue;
    }
    const r = importChaosMesh([doc]);
    // A misspelt Chaos Mesh kind (NetworkChoas) is named by the import; say which one it probably is.
    const kind = (doc as { kind?: unknown }).kind;
    if (typeof kind === 'string' && !(CHAOS_MESH_KINDS as readonly string[]).includes(kind)) {
      const near = nearestAny(kind, CHAOS_MESH_KINDS);
      if (near) r.notes.push({ document: r.unmapped.find((u) => u.field === '/kind')?.document ?? kind, field: '/kind', reason: `did you mean ${near}?` });
    }
    out.push(...r.experiments, ...r.workflows);
    result.experiments.push(...r.experiments);
    result.workflows.push(...r.workflows);
    result.unmapped.push(...r.unmapped);
    result.notes.push(...r.notes);
  }
  return { docs: out, result };
}

/** One line per unmapped field and per filled-in default, for stderr. */
export function describeImport(result: ImportResult): string[] {
  return [
    ...result.unmapped.map((u) => `not mapped: ${u.document} ${u.field}: ${u.reason}`),
    ...result.notes.map((n) => `note: ${n.document} ${n.field}: ${n.reason}`),
  ];
}
