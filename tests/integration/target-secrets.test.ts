import { spawn, type ChildProcess } from 'node:child_process';
import { parseTokensEnv } from '../../exporter/auth/tokens';
import { request, startStack, type Stack } from './exporter-helpers';

// Secrets in command lines never leave a target listing: the daemon redacts them for every caller
// (GET /v1/targets), and the exporter (GET /api/v1/targets) shows command lines, redacted, to operators
// and admins only; a viewer gets no command line at all.

const isRoot = process.getuid?.() === 0;
const VIEWER = 'v'.repeat(32);
const OPERATOR = 'o'.repeat(32);

(isRoot ? describe : describe.skip)('target listings keep secrets', () => {
  let s: Stack;
  let child: ChildProcess;
  beforeAll(async () => {
    s = await startStack({ tokens: parseTokensEnv(`viewer:viewer:${VIEWER},op:operator:${OPERATOR}`) });
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', 'psql', 'postgresql://app:hunter2@db.internal/shop', '--password', 'hunter2', 'PGPASSWORD=hunter2'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
  }, 60_000);
  afterAll(async () => {
    child?.kill('SIGKILL');
    await s?.close();
  });

  it('the daemon redacts every command line it lists', async () => {
    const narrowed = (await request(s.daemon.url, 'GET', `/v1/targets?pids=${child.pid}`)).body.targets;
    expect(narrowed).toHaveLength(1);
    expect(narrowed[0].cmdline).toContain('postgresql://app:***@db.internal/shop --password *** PGPASSWORD=***');
    const all = (await request(s.daemon.url, 'GET', '/v1/targets')).body.targets;
    expect(JSON.stringify(all)).not.toContain('hunter2');
  });

  it('the exporter shows redacted command lines to an operator and none to a viewer', async () => {
    const as = async (token: string) => (await request(s.url, 'GET', '/api/v1/targets', undefined, { token })).body.items;
    const op = (await as(OPERATOR)).find((t: any) => t.pid === child.pid);
    expect(op.cmdline).toContain('postgresql://app:***@db.internal/shop');
    const viewerItems = await as(VIEWER);
    const viewer = viewerItems.find((t: any) => t.pid === child.pid);
    expect(viewer).toMatchObject({ pid: child.pid, processName: expect.stringMatching(/^(node|MainThread)$/) }); // Node 24 names its main thread
    expect(viewer.cmdline).toBeUndefined();
    expect(viewerItems.some((t: any) => 'cmdline' in t)).toBe(false);
    expect(JSON.stringify(viewerItems)).not.toContain('hunter2');
  });
});
