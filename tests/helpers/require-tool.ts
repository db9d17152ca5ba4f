import { execFileSync } from 'node:child_process';

/**
 * Tests that need a system tool: under CI=true a missing tool that .ci/run installs is a failure
 * (the install step is broken); on a developer machine the test is skipped with the reason.
 * Kernel features (e.g. sch_netem) are different: they are skipped everywhere, with the reason.
 */
export function hasTool(cmd: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** `describe` or `describe.skip`, failing loudly in CI when a tool that CI installs is missing. */
export function describeWithTools(tools: string[], name: string, fn: () => void): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) return describe(name, fn);
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`has the tools .ci/run installs: ${tools.join(', ')}`, () => {
        throw new Error(`missing under CI: ${missing.join(', ')} (should be installed by .ci/run)`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${missing.join(', ')} not installed)`, fn);
}
