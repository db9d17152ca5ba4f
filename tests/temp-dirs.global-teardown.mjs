// After the whole run: no temp folder of this run's workers may be left (tests/temp-dirs.mjs).
import { afterRun } from './temp-dirs.mjs';

export default async function globalTeardown() {
  afterRun();
}
