import spec from '../../api/kinds/process-kill';
import { ApiError } from '../../api/errors';
import { defineFault } from './types';
import { requireProcesses, signalPinned } from './pinned-processes';

// Sends the signal once at inject. Nothing to undo: recover only ends the fault's record.
export default defineFault({
  spec,
  async precheck(_params, target) {
    requireProcesses(target.processes);
  },
  async inject(ctx) {
    const signaled = signalPinned(ctx.target.processes, ctx.params.signal as NodeJS.Signals);
    if (signaled.length === 0) throw ApiError.unprocessable('every target process exited before it could be signalled', [{ field: '/target', reason: 'no live process' }]);
    return { signal: ctx.params.signal, signaled };
  },
  async recover() {
    /* a signal cannot be taken back */
  },
});
