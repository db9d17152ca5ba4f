import { benchDaemon } from './daemon';
import { benchGuards } from './guards';
import { benchProxy } from './proxy';

/** Every benchmark: name → a function that runs it, prints its table and returns its figures. */
export const BENCHES: Record<string, () => Promise<unknown>> = {
  daemon: benchDaemon,
  guards: benchGuards,
  proxy: benchProxy,
};
