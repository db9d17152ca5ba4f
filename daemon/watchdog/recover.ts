import pino from 'pino';
import { FAULT_KINDS } from '../faults/index';
import { Journal } from '../journal';
import { claimForWatchdog, releaseWatchdogClaim } from '../lock';
import { FaultManager } from '../manager';
import { DaemonMetrics } from '../daemon-metrics';
import { Protection } from '../resolve/protect';

// What the watchdog runs once its daemon died: the daemon's own restart path (FaultManager.restore,
// i.e. each kind's recover from its journaled state), under the state dir's lock, so a daemon started
// meanwhile and this process never revert the same journal at once. Returns how many faults are left
// (a failed revert stays journaled, with its error, for the next daemon start to retry).

/** Builds everything recovery needs up front (at load), so the daemon's death costs only the reverting itself. */
export function prepare(stateDir: string): (daemonPid: number, noticedAt: number) => Promise<number> {
  const log = pino({ name: 'faultline-watchdog' }, pino.destination({ fd: 2, sync: true }));
  const journal = new Journal(stateDir);
  const manager = new FaultManager({ journal, metrics: new DaemonMetrics(FAULT_KINDS.map((k) => k.spec.kind), { processMetrics: false }), caps: {}, protection: new Protection(), log });
  return async (daemonPid, noticedAt) => {
    const t0 = process.hrtime.bigint();
    if (!(await claimForWatchdog(stateDir, daemonPid))) {
      log.info({ daemonPid }, 'the daemon died, but a new daemon already holds the state dir: leaving recovery to it');
      return 0;
    }
    let left = 0;
    try {
      await journal.init();
      const found = await manager.restore('daemon_died');
      left = manager.count();
      log.warn({ daemonPid, found, left, noticedAt, ms: Number(process.hrtime.bigint() - t0) / 1e6 }, 'the daemon died: reverted the faults it had journaled');
    } catch (err) {
      left = 1;
      log.error({ daemonPid, err: String(err) }, 'recovery after the daemon died failed; the next daemon start retries');
    }
    await releaseWatchdogClaim(stateDir);
    return left;
  };
}
