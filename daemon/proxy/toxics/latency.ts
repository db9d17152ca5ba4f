import { parseDuration } from '../../../api/units';
import { sleepUntil } from './sleep';
import { defineToxic } from './types';

// Delays every chunk by `latency` ± `jitter` (uniform), counted from the chunk's arrival, so a steady
// stream keeps its throughput and only gains the delay. Order is kept.
export default defineToxic({
  type: 'latency',
  create(p) {
    const latency = parseDuration(p.latency ?? '0ms');
    const jitter = parseDuration(p.jitter ?? '0ms');
    return async function* latencyStage(input, link) {
      for await (const chunk of input) {
        const delay = Math.max(0, latency + (jitter ? (Math.random() * 2 - 1) * jitter : 0));
        if (!(await sleepUntil(chunk.t + delay, link.signal))) return;
        yield chunk;
      }
    };
  },
});
