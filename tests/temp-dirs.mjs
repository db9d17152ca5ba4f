// The check that a test run leaves no temp folders behind (tests/helpers/tmp.ts makes them as
// `fl-<tag>-<pid>-XXXXXX`, other helpers `<name>-<pid>-XXXXXX`; the pid is the jest worker's).
//
// The machine may run other jest runs at the same time, so "a folder that appeared during this run"
// is not enough: a folder counts as this run's only when the pid in its name is one of this run's
// workers. Each worker writes its pid (temp-dirs.worker.cjs) to the file FAULTLINE_TEST_PIDS names
// (the workers inherit the variable from the global setup, which runs before they start); the global
// teardown, after every test file's afterAll, lists what this run's pids left, removes it and fails.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PIDS = 'FAULTLINE_TEST_PIDS';
/** mkdtemp's shape with a pid before its six random characters. */
const TEMP_NAME = /-(\d+)-[A-Za-z0-9]{6}$/;

const entries = () => new Set(readdirSync(os.tmpdir()));

/** Global setup: what is there before the run, and where the workers put their pids. */
export function beforeRun() {
  globalThis.__faultlineTmpBefore = entries();
  process.env[PIDS] = path.join(os.tmpdir(), `faultline-jest-${process.pid}.pids`);
}

/** Global teardown: fails the run when a folder of this run's workers is still in the temp dir. */
export function afterRun() {
  const file = process.env[PIDS];
  const before = globalThis.__faultlineTmpBefore;
  if (!file || !before) return;
  let pids;
  try {
    pids = new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  } catch {
    pids = new Set();
  }
  rmSync(file, { force: true });
  pids.add(String(process.pid)); // --runInBand: the tests run in this process
  const left = [];
  for (const name of entries()) {
    const m = TEMP_NAME.exec(name);
    if (before.has(name) || !m || !pids.has(m[1])) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (!statSync(dir).isDirectory()) continue;
      left.push(`${dir} (${readdirSync(dir).join(', ') || 'empty'})`);
    } catch {
      continue; // gone meanwhile
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (left.length) {
    throw new Error(`the tests left ${left.length} folder(s) in ${os.tmpdir()} (removed now; the test that made one must remove it in its afterAll):\n  ${left.join('\n  ')}`);
  }
}
