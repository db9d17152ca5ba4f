import { parseDuration } from '../../../api/units';
import { defineToxic } from './types';

// Passes data until `timeout` after the connection opened (0 = at once), then resets both sides
// with a TCP RST: the client sees "connection reset by peer".
export default defineToxic({
  type: 'reset-peer',
  create(p) {
    const ms = parseDuration(p.timeout ?? '0s');
    return async function* resetPeerStage(input, link) {
      const timer = setTimeout(() => link.reset(), ms);
      link.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
      yield* input;
    };
  },
});
