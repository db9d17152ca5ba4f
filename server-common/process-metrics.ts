import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client measures event-loop delay with a libuv timer at this resolution: its default of 10 ms woke
 * every process 100 times a second, idle or not (50 daemons and their watchdogs on one host were 10 000
 * wakeups a second). 100 ms still shows a blocked loop.
 */
export const EVENT_LOOP_PRECISION_MS = 100;

/** The process's own metrics (CPU, memory, handles, event-loop delay) on `registry`, for daemon and exporter alike. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
}
