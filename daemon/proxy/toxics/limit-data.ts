import { parseSize } from '../../../api/units';
import { defineToxic } from './types';

// Passes the first `bytes` bytes of a direction, then closes the connection (both sides).
export default defineToxic({
  type: 'limit-data',
  create(p) {
    const limit = parseSize(p.bytes ?? '0');
    return async function* limitDataStage(input, link) {
      let passed = 0;
      if (limit <= 0) {
        link.closeWhenFlushed();
        return;
      }
      for await (const chunk of input) {
        const room = limit - passed;
        const data = chunk.data.length > room ? chunk.data.subarray(0, room) : chunk.data;
        passed += data.length;
        yield { data, t: chunk.t };
        if (passed >= limit) {
          link.closeWhenFlushed();
          return;
        }
      }
    };
  },
});
