import { parseDuration } from '../../../api/units';
import { sleep } from './sleep';
import { defineToxic } from './types';

// Passes data; when the sender closes, holds the close back for `delay`.
export default defineToxic({
  type: 'slow-close',
  create(p) {
    const ms = parseDuration(p.delay ?? '0s');
    return async function* slowCloseStage(input, link) {
      yield* input;
      await sleep(ms, link.signal);
    };
  },
});
