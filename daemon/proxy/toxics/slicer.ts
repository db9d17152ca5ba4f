import { parseDuration } from '../../../api/units';
import { sleep } from './sleep';
import { defineToxic } from './types';

// Cuts chunks into slices of `averageSize` ± `sizeVariation` bytes with `delay` between them:
// exercises readers that assume one read = one message.
export default defineToxic({
  type: 'slicer',
  create(p) {
    const avg = p.averageSize ?? 1;
    const variation = Math.min(p.sizeVariation ?? 0, avg - 1);
    const delay = parseDuration(p.delay ?? '0s');
    return async function* slicerStage(input, link) {
      for await (const chunk of input) {
        let off = 0;
        while (off < chunk.data.length) {
          const size = Math.max(1, avg + Math.round((Math.random() * 2 - 1) * variation));
          yield { data: chunk.data.subarray(off, off + size), t: chunk.t };
          off += size;
          if (off < chunk.data.length && delay > 0 && !(await sleep(delay, link.signal))) return;
        }
      }
    };
  },
});
