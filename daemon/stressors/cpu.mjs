// cpu-stress worker: keeps one CPU busy at <load> percent, measured as this process's own CPU time
// (process.cpuUsage), not wall-clock busy-waiting, so preemption on a loaded host is made up for.
// usage: node cpu.mjs <load 1-100> [journalFile]
import { watchDeadman } from './deadman.mjs';

const load = Math.min(100, Math.max(1, Number(process.argv[2]) || 100)) / 100;
watchDeadman(process.argv[3]);

const PERIOD_MS = 100;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let t0 = performance.now();
let c0 = cpuMs();

function tick() {
  const periodEnd = performance.now() + PERIOD_MS;
  // a long stall (SIGSTOP, host overload) is not paid back in one burst: restart the books
  if (load * (performance.now() - t0) - (cpuMs() - c0) > PERIOD_MS) {
    t0 = performance.now();
    c0 = cpuMs();
  }
  const targetAtEnd = load * (periodEnd - t0);
  while (performance.now() < periodEnd && cpuMs() - c0 < targetAtEnd) {
    /* busy */
  }
  setTimeout(tick, Math.max(0, periodEnd - performance.now()));
}
tick();
