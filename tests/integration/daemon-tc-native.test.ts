import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';

// The tc kinds' stop path: the root qdisc of a fault removed through rtnetlink inside the daemon
// (daemon/native/tc.c), and through the tc binary where the addon is not built (FAULTLINE_TC=binary).
// Both must do the same on qdiscs of a namespace the test made: remove the fault's own root qdisc, leave
// anybody else's alone, and count a gone qdisc, device or namespace as done.

jest.setTimeout(60_000);
const netns = canUseNetns();
const describeNetns = netns.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${netns.reason})`, fn);

type TcModule = typeof import('../../daemon/sys/tc');

/** daemon/sys/tc.ts loaded afresh with FAULTLINE_TC as given (the backend is picked when it loads). */
function loadTc(env: string | undefined): TcModule {
  const before = process.env.FAULTLINE_TC;
  if (env === undefined) delete process.env.FAULTLINE_TC;
  else process.env.FAULTLINE_TC = env;
  try {
    let mod!: TcModule;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of the module, which picks its backend as it loads
      mod = require('../../daemon/sys/tc') as TcModule;
    });
    return mod;
  } finally {
    if (before === undefined) delete process.env.FAULTLINE_TC;
    else process.env.FAULTLINE_TC = before;
  }
}

const native = loadTc(undefined);
const binary = loadTc('binary');

describeNetns(['ip', 'tc'], 'removing a tc fault’s root qdisc (rtnetlink in the daemon, and the tc binary)', () => {
  let pair: NetnsPair;
  let nsPath: string;
  const qdiscs = (dev: string) => JSON.parse(execFileSync('tc', ['-n', pair.a, '-j', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' })) as { kind: string; handle: string; root?: boolean }[];
  const rootOf = (dev: string) => qdiscs(dev).find((q) => q.root);
  const addRoot = (dev: string, handle: string) => execFileSync('tc', ['-n', pair.a, 'qdisc', 'add', 'dev', dev, 'root', 'handle', handle, 'tbf', 'rate', '1mbit', 'burst', '32kb', 'limit', '64kb']);

  beforeAll(() => {
    pair = makeNetnsPair('tc');
    nsPath = `/run/netns/${pair.a}`;
  });
  afterAll(() => pair?.destroy());

  it('is the backend in use wherever it can be built (CI builds it)', () => {
    if (process.env.CI === 'true' || existsSync(native.NATIVE_TC_PATH)) {
      expect(native.tcBackend()).toEqual({ native: true, detail: 'adds qdiscs with the tc binary, removes them through rtnetlink in the daemon' });
    } else {
      expect(native.tcBackend().detail).toMatch(/^tc binary \(.*not built/);
    }
    expect(binary.tcBackend()).toEqual({ native: false, detail: 'tc binary (FAULTLINE_TC=binary)' });
  });

  describe.each([
    ['rtnetlink', () => native],
    ['tc binary', () => binary],
  ])('through %s', (_name, tc) => {
    it('removes the root qdisc with the fault’s handle, in the namespace given', async () => {
      const handle = tc().handleFor(`fault-${_name}`);
      addRoot(pair.ifA, handle);
      expect(rootOf(pair.ifA)).toMatchObject({ kind: 'tbf', handle });
      await tc().deleteRootQdisc(pair.ifA, handle, nsPath);
      expect(rootOf(pair.ifA)?.kind).not.toBe('tbf');
    });

    it('leaves a root qdisc with another handle where it is (somebody else’s), and counts that as done', async () => {
      addRoot(pair.ifA, '7777:');
      try {
        await expect(tc().deleteRootQdisc(pair.ifA, '1234:', nsPath)).resolves.toBeUndefined();
        expect(rootOf(pair.ifA)).toMatchObject({ kind: 'tbf', handle: '7777:' });
      } finally {
        execFileSync('tc', ['-n', pair.a, 'qdisc', 'del', 'dev', pair.ifA, 'root']);
      }
    });

    it('counts a device without a qdisc of ours, a gone device and a gone namespace as done', async () => {
      await expect(tc().deleteRootQdisc(pair.ifA, '1234:', nsPath)).resolves.toBeUndefined();
      await expect(tc().deleteRootQdisc('lo', '1234:', nsPath)).resolves.toBeUndefined();
      await expect(tc().deleteRootQdisc('flnope0', '1234:', nsPath)).resolves.toBeUndefined();
      await expect(tc().deleteRootQdisc(pair.ifA, '1234:', '/run/netns/fl-tc-never-made')).resolves.toBeUndefined();
    });
  });

  it('never moves the daemon into the namespace it works in', async () => {
    const before = readlinkSync('/proc/thread-self/ns/net');
    const handles = Array.from({ length: 4 }, (_, i) => native.handleFor(`par-${i}`));
    // four devices' worth of deletes at once: each on a thread of its own that enters the namespace
    await Promise.all(handles.map((h) => native.deleteRootQdisc(pair.ifA, h, nsPath)));
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(before);
    const spaces = new Set(readdirSync(`/proc/${process.pid}/task`).map((t) => readlinkSync(`/proc/${process.pid}/task/${t}/ns/net`)));
    expect([...spaces]).toEqual([before]);
  });

  const addonPath = path.join(PACKAGE_ROOT, 'daemon/native/build/faultline-tc.node');
  (existsSync(addonPath) ? it : it.skip)('the addon refuses bad arguments with a TypeError before it touches anything', () => {
    const addon = createRequire(path.join(PACKAGE_ROOT, 'package.json'))(addonPath) as { deleteRoot: (...a: unknown[]) => Promise<void> };
    for (const args of [
      [] as unknown[],
      ['', 0x12340000, null],
      ['eth0\0lo', 0x12340000, null], // an embedded NUL would name another device
      ['x'.repeat(16), 0x12340000, null], // longer than IFNAMSIZ
      [pair.ifA, 0, nsPath], // handle 0: "any qdisc" to the kernel
      [pair.ifA, -1, nsPath],
      [pair.ifA, 2 ** 32, nsPath],
      [pair.ifA, 1.5, nsPath],
      [pair.ifA, Number.NaN, nsPath],
      [pair.ifA, '1234:', nsPath],
      [pair.ifA, 0x12340000, 42],
      [pair.ifA, 0x12340000, `${nsPath}\0x`],
    ]) {
      let outcome: string;
      try {
        void addon.deleteRoot(...args).catch(() => undefined);
        outcome = 'accepted';
      } catch (err) {
        outcome = (err as Error).name === 'TypeError' ? 'TypeError' : String(err); // the addon's realm, not jest's: no instanceof
      }
      expect([JSON.stringify(args), outcome]).toEqual([JSON.stringify(args), 'TypeError']);
    }
  });
});
