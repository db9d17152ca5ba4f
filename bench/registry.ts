import { benchDaemon } from './daemon';
import { benchExporter } from './exporter';
import { benchGuards } from './guards';
import { benchKubernetes } from './kubernetes';
import { benchProxy } from './proxy';
import { benchSoak } from './soak';

/** Every benchmark: name → a function that runs it, prints its table and returns its figures. */
export const BENCHES: Record<string, () => Promise<unknown>> = {
  daemon: benchDaemon,
  exporter: benchExporter,
  guards: benchGuards,
  kubernetes: benchKubernetes,
  proxy: benchProxy,
  soak: benchSoak,
};
