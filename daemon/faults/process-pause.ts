import spec from '../../api/kinds/process-pause';
import { ApiError } from '../../api/errors';
import { defineFault } from './types';
import { requireProcesses, signalPinned, waitUntilStopped } from './pinned-processes';

// SIGSTOP at inject, SIGCONT at recover. The pids to continue come from the resolved target in the
// journal (pinned with start time), so a daemon restarted after a crash continues exactly them.
export default defineFault({
  spec,
  // one pause per process: SIGCONT from whichever ends first would resume it under the other
  holdsProcesses: 'stopped',
  async precheck(_params, target) {
    requireProcesses(target.processes);
  },
  async inject(ctx) {
    // saved first: if we die right after SIGSTOP, the restart still continues these processes
    await ctx.save({ stopped: ctx.target.processes.map((p) => p.pid) });
    const stopped = signalPinned(ctx.target.processes, 'SIGSTOP');
    if (stopped.length === 0) throw ApiError.unprocessable('every target process exited before it could be stopped', [{ field: '/target', reason: 'no live process' }]);
    // answer once the kernel shows them stopped; one stuck in uninterruptible sleep keeps its pending
    // SIGSTOP and stops when it leaves it, which the state records
    const pending = await waitUntilStopped(stopped);
    if (pending.length) ctx.log.warn({ pids: pending }, 'SIGSTOP sent but not yet in effect (uninterruptible sleep?)');
    return pending.length ? { stopped, pending } : { stopped };
  },
  recoverNow(target) {
    signalPinned(target.processes, 'SIGCONT');
  },
  async recover(ctx) {
    signalPinned(ctx.target.processes, 'SIGCONT');
  },
});
