// Before any test: bring dist-server/ up to date with the sources (incremental, a fraction of a
// second when nothing changed). Tests spawn the CLI, the exporter, the daemon and proxy children
// from it, exactly as production runs them, so a test never runs yesterday's build.
import { buildServer } from '../scripts/build-server.mjs';
import { beforeRun } from './temp-dirs.mjs';

export default async function globalSetup() {
  beforeRun(); // what the temp dir holds now (the teardown checks what the run left)
  await buildServer({ quiet: true });
}
