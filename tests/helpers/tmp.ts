import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Throwaway folders for tests: `fl-<tag>-<pid>-XXXXXX` in the temp dir. The test that makes one
// removes it in its afterAll (or finally); the run's global teardown fails when one is left
// (tests/temp-dirs.mjs), naming it.

export function tempDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `fl-${tag}-${process.pid}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
