import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { ToolError } from '../../daemon/sys/exec';
import { deleteTable, listTables, loadScript, NATIVE_NFT_PATH, nftBackend } from '../../daemon/sys/nft';
import { canUseNetns, inNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';

// The daemon's nftables path: libnftables inside the daemon (daemon/native/nft.c). A table loaded in
// a namespace the test made must be there as the nft binary sees it, a failing script must fail as
// the binary fails, and entering another namespace must never move the daemon itself (its main
// thread, the threads that write its journal) into it.

jest.setTimeout(60_000);
const netns = canUseNetns();
const describeNetns = netns.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${netns.reason})`, fn);

const table = (name: string, port: number) => `table inet ${name} {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport ${port} drop
  }
}
`;

describeNetns(['ip', 'nft'], 'nftables inside the daemon (libnftables addon)', () => {
  let pair: NetnsPair;
  let nsPath: string;

  beforeAll(() => {
    pair = makeNetnsPair('nf');
    nsPath = `/run/netns/${pair.a}`;
  });
  afterAll(() => pair?.destroy());

  it('is the backend in use wherever it can be built (CI installs libnftables-dev)', () => {
    if (process.env.CI === 'true' || existsSync(NATIVE_NFT_PATH)) {
      expect(nftBackend()).toEqual({ native: true, detail: 'libnftables in the daemon' });
    } else {
      expect(nftBackend().detail).toMatch(/^nft binary \(.*not built/);
    }
  });

  it('loads a table the nft binary sees in that namespace, and deletes it', async () => {
    await loadScript(table('fl_native_a', 9), nsPath);
    expect(inNetns(pair.a, 'nft', ['list', 'tables', 'inet'])).toMatch(/table inet fl_native_a/);
    expect(await listTables(nsPath)).toEqual(['fl_native_a']);
    // the rule as the kernel holds it
    expect(inNetns(pair.a, 'nft', ['list', 'table', 'inet', 'fl_native_a'])).toMatch(/udp dport 9 drop/);
    await deleteTable('fl_native_a', nsPath);
    expect(inNetns(pair.a, 'nft', ['list', 'tables', 'inet'])).not.toMatch(/fl_native_a/);
  });

  it('never moves the daemon into the namespace it works in', async () => {
    const before = readlinkSync('/proc/thread-self/ns/net');
    await Promise.all(Array.from({ length: 8 }, (_, i) => loadScript(table(`fl_native_c${i}`, 100 + i), nsPath)));
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(before);
    // libuv's pool threads (the journal's file writes) are all still in the daemon's namespace
    const spaces = new Set(readdirSync(`/proc/${process.pid}/task`).map((t) => readlinkSync(`/proc/${process.pid}/task/${t}/ns/net`)));
    expect([...spaces]).toEqual([before]);
    // and a call without a namespace works on the daemon's own
    expect(await listTables()).not.toContain('fl_native_c0');
    expect((await listTables(nsPath)).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `fl_native_c${i}`).sort());
    await Promise.all(Array.from({ length: 8 }, (_, i) => deleteTable(`fl_native_c${i}`, nsPath)));
    expect(await listTables(nsPath)).toEqual([]);
  });

  it('fails a bad script all or nothing, with the text the nft binary gives', async () => {
    const bad = `${table('fl_native_b', 7)}table inet fl_native_b2 {\n  chain c {\n    tcp dport 99999 drop\n  }\n}\n`;
    const err = await loadScript(bad, nsPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    const binary = (() => {
      try {
        execFileSync('ip', ['netns', 'exec', pair.a, 'nft', '-f', '-'], { input: bad, stdio: ['pipe', 'ignore', 'pipe'] });
        return 'no error';
      } catch (e) {
        return String((e as { stderr: Buffer }).stderr);
      }
    })();
    const lines = (text: string) => text.trim().split('\n');
    expect(lines((err as ToolError).stderr)).toEqual(lines(binary));
    expect((err as ToolError).stderr).toMatch(/^\/dev\/stdin:9:15-19: Error: Service out of range\n {4}tcp dport 99999 drop/);
    // nothing of the script was applied, the first table included
    expect(await listTables(nsPath)).toEqual([]);
  });

  it('counts a table or a namespace that is already gone as deleted', async () => {
    await expect(deleteTable('fl_native_never', nsPath)).resolves.toBeUndefined();
    await expect(deleteTable('fl_native_never', '/run/netns/fl-nf-no-such-namespace')).resolves.toBeUndefined();
    await expect(loadScript(table('fl_native_x', 1), '/run/netns/fl-nf-no-such-namespace')).rejects.toThrow(/cannot open .*No such file/);
  });
});
