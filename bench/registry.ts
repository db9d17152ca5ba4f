import { benchDaemon } from './daemon';
import { benchExporter } from './exporter';
import { benchFleet } from './fleet';
import { benchGuards } from './guards';
import { benchKubernetes } from './kubernetes';
import { benchProxy } from './proxy';
import { benchRegex } from './regex';

/** Every benchmark: name → a function that runs it, prints its table and returns its figures. */
export const BENCHES: Record<string, () => Promise<unknown>> = {
  daemon: benchDaemon,
  exporter: benchExporter,
  fleet: benchFleet,
  guards: benchGuards,
  kubernetes: benchKubernetes,
  proxy: benchProxy,
  regex: benchRegex,
};
