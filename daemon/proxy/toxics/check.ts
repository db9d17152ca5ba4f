import { ApiError, type ErrorDetail } from '../../../api/errors';
import { TOXIC_ATTRIBUTES } from '../../../api/proxy';
import type { ToxicParams } from './types';

// What the schema cannot say simply: a toxic carries only the attributes of its own type
// (`rate` on a latency toxic is a mistake worth a 400, not something to ignore).
const COMMON = new Set(['type', 'toxicity', 'direction']);

export function checkToxics(toxics: readonly ToxicParams[], prefix = '/params/toxics'): void {
  const details: ErrorDetail[] = [];
  toxics.forEach((t, i) => {
    const own = TOXIC_ATTRIBUTES[t.type];
    for (const key of Object.keys(t)) {
      if (COMMON.has(key) || own.required.includes(key) || own.optional.includes(key)) continue;
      details.push({ field: `${prefix}/${i}/${key}`, reason: `is not an attribute of the ${t.type} toxic (it takes ${[...own.required, ...own.optional].join(', ') || 'none'})` });
    }
    if (t.type === 'slicer' && (t.sizeVariation ?? 0) >= (t.averageSize ?? 1)) {
      details.push({ field: `${prefix}/${i}/sizeVariation`, reason: 'must be smaller than averageSize' });
    }
  });
  if (details.length) throw ApiError.invalid(`invalid request: ${details[0].field} ${details[0].reason}`, details);
}
