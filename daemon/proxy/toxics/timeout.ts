import { parseDuration } from '../../../api/units';
import { aborted } from './sleep';
import { defineToxic } from './types';

// Lets nothing through; closes the connection after `timeout`, or holds it (dropping data) for as
// long as the fault runs when `timeout` is 0. What a client sees as a hung server.
export default defineToxic({
  type: 'timeout',
  create(p) {
    const ms = parseDuration(p.timeout ?? '0s');
    // eslint-disable-next-line require-yield -- yielding nothing is the fault
    return async function* timeoutStage(input, link) {
      const timer = ms > 0 ? setTimeout(() => link.close(), ms) : undefined;
      link.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
      for await (const _chunk of input) {
        /* dropped: that is the fault */
      }
      await aborted(link.signal);
    };
  },
});
