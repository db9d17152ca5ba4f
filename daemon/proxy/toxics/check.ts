import { ApiError } from '../../../api/errors';
import { toxicProblems } from '../../../api/proxy';
import type { ToxicParams } from './types';

// What the schema cannot say simply: a toxic carries only the attributes of its own type
// (`rate` on a latency toxic is a mistake worth a 400, not something to ignore). The rule itself lives
// in api/proxy.ts (toxicProblems), which the exporter runs at create too.
export function checkToxics(toxics: readonly ToxicParams[], prefix = '/params/toxics'): void {
  const details = toxicProblems(toxics as unknown as Record<string, unknown>[], prefix);
  if (details.length) throw ApiError.invalid(`invalid request: ${details[0].field} ${details[0].reason}`, details);
}
