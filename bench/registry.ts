import { benchDaemon } from './daemon';
import { benchDns } from './dns';
import { benchExporter } from './exporter';
import { benchFleet } from './fleet';
import { benchGuards } from './guards';
import { benchKubernetes } from './kubernetes';
import { benchProxy } from './proxy';
import { benchRegex } from './regex';
import { benchRevert } from './revert';
import { benchSoak } from './soak';
import { benchStartup } from './startup';
import { benchWatchdog } from './watchdog';

/** Every benchmark: name → a function that runs it, prints its table and returns its figures. */
export const BENCHES: Record<string, () => Promise<unknown>> = {
  daemon: benchDaemon,
  dns: benchDns,
  exporter: benchExporter,
  fleet: benchFleet,
  guards: benchGuards,
  kubernetes: benchKubernetes,
  proxy: benchProxy,
  regex: benchRegex,
  revert: benchRevert,
  soak: benchSoak,
  startup: benchStartup,
  watchdog: benchWatchdog,
};
