import { parseRate } from '../../../api/units';
import { sleepUntil } from './sleep';
import { defineToxic } from './types';

// Limits a direction to `rate`: bytes leave in slices of about 20 ms worth, each at the time the rate
// allows (a virtual clock, so late timers on a busy machine are made up for). Idle time earns at most
// CATCH_UP_MS of credit, so a pause is not followed by a burst.
const CATCH_UP_MS = 50;
export default defineToxic({
  type: 'bandwidth',
  create(p) {
    const bytesPerMs = parseRate(p.rate ?? '1gbit') / 8 / 1000;
    const slice = Math.max(512, Math.min(64 * 1024, Math.round(bytesPerMs * 20)));
    return async function* bandwidthStage(input, link) {
      let clock = performance.now();
      for await (const chunk of input) {
        for (let off = 0; off < chunk.data.length; off += slice) {
          const piece = chunk.data.subarray(off, off + slice);
          clock = Math.max(clock, performance.now() - CATCH_UP_MS);
          if (!(await sleepUntil(clock, link.signal))) return;
          clock += piece.length / bytesPerMs;
          yield { data: piece, t: chunk.t };
        }
      }
    };
  },
});
