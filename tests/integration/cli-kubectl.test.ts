import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startCli } from './cli-helpers';
import { cli, killAll, sleepers, startStack, tempDir, waitFor, type Stack } from './exporter-helpers';

// The CLI's kubectl habits against a real exporter and daemon: output formats, label selectors,
// watch, empty lists, aligned tables with long names, readable describe, and usage errors that end
// in what to do (exit 2), other servers named as such.

jest.setTimeout(600_000); // each CLI call is a fresh node process: seconds each on a loaded machine

let s: Stack;
let env: Record<string, string>;
const { procs, spawn: sleeper } = sleepers();
const dir = tempDir('cli-kubectl');
const tag = process.pid;
const LONG = `a-rather-long-experiment-name-that-pushes-the-columns-${tag}`;

beforeAll(async () => {
  s = await startStack();
  env = { FAULTLINE_SERVER: s.url };
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
  rmSync(dir, { recursive: true, force: true });
});

/** Pids of processes whose command line names `text` (e.g. a watchdog given a state dir). */
function processesNaming(text: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const pause = (name: string, pid: number, labels: Record<string, string>, namespace = 'default') => ({
  metadata: { name, namespace, labels },
  spec: {
    fault: { kind: 'process-pause', params: {} },
    targets: { selector: { pids: [pid], daemons: ['local'] } },
    duration: '30m',
    guards: { alerts: ['alertname="HighErrorRate"', 'service=~"api|web"'] },
  },
});

describe('faultline get, kubectl style', () => {
  it('empty lists say "No resources found in namespace X." on stderr and exit 0', async () => {
    const r = await cli(['get', 'experiments', '-n', `empty-${tag}`], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`No resources found in namespace empty-${tag}.`);
    expect((await cli(['get', 'workflows', '-n', `empty-${tag}`], env)).stderr.trim()).toBe(`No resources found in namespace empty-${tag}.`);
    expect((await cli(['get', 'events', '-n', `empty-${tag}`], env)).stderr.trim()).toBe(`No resources found in namespace empty-${tag}.`);
    expect(JSON.parse((await cli(['get', 'experiments', '-n', `empty-${tag}`, '-o', 'json'], env)).stdout).items).toEqual([]);
  });

  it('-o name|wide, -l selectors, aligned columns with long names, AGE; -w prints new rows', async () => {
    const watch = startCli(['get', 'experiments', '-n', `team-${tag}`, '-w', '--interval', '300ms'], env);
    await watch.until(/No resources found/);
    for (const [name, labels] of [
      [LONG, { app: 'web', tier: 'front' }],
      [`short-${tag}`, { app: 'db' }],
    ] as const) {
      // a process of its own each: one pause per process (a second would be refused with 409)
      const res = await s.api('POST', '/api/v1/experiments', pause(name, sleeper(), labels, `team-${tag}`));
      expect({ status: res.status, body: res.status === 201 ? undefined : res.body }).toEqual({ status: 201, body: undefined });
    }
    // watch: the header once, then one line per new experiment
    await watch.until(new RegExp(`short-${tag}`));
    await watch.until(new RegExp(LONG));
    watch.child.kill('SIGINT');
    expect(await watch.exit()).toBe(0);
    expect(watch.stdout().match(/^NAME\s+KIND/gm)?.length).toBeGreaterThanOrEqual(1);

    let r = await cli(['get', 'experiments', '-n', `team-${tag}`], env);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+PHASE\s+TARGETS\s+ENDS\s+AGE$/);
    // every column starts at the same offset in every row, long name or not
    const kindAt = lines[0].indexOf('KIND');
    for (const l of lines.slice(1)) expect(l.indexOf('process-pause')).toBe(kindAt);
    expect(lines.find((l) => l.startsWith(LONG))).toMatch(/\s(\d+s|\d+m\d+s)$/); // AGE, relative
    expect(lines.find((l) => l.startsWith(LONG))).toMatch(/\sin \d+m\d+s\s/); // ENDS, relative

    r = await cli(['get', 'experiments', '-n', `team-${tag}`, '-o', 'name'], env);
    expect(r.stdout.trim().split('\n').sort()).toEqual([`experiment/${LONG}`, `experiment/short-${tag}`].sort());
    r = await cli(['get', 'experiments', '-n', `team-${tag}`, '-l', 'app=web', '-o', 'name'], env);
    expect(r.stdout.trim()).toBe(`experiment/${LONG}`);
    r = await cli(['get', 'experiments', '-n', `team-${tag}`, '-l', 'app!=web,!tier', '-o', 'name'], env);
    expect(r.stdout.trim()).toBe(`experiment/short-${tag}`);
    r = await cli(['get', 'experiments', '-n', `team-${tag}`, '-o', 'wide'], env);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+KIND\s+PHASE\s+TARGETS\s+ENDS\s+AGE\s+STARTED\s+ENDED\s+CREATED\s+REASON$/);
    expect(r.stdout).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/); // absolute times
    r = await cli(['get', 'experiments', '-A', '-l', 'app=db'], env);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME/);
    expect(r.stdout).toContain(`team-${tag}`);

    // describe: Fault, Selector and Guards as YAML, not escaped JSON
    await waitFor('Running', async () => (await s.api('GET', `/api/v1/experiments/team-${tag}/${LONG}`)).body.status.phase === 'Running');
    r = await cli(['describe', 'experiment', LONG, '-n', `team-${tag}`], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Selector: {4}mode=all\n {2}pids:\n {4}- \d+\n {2}daemons:\n {4}- local$/m);
    expect(r.stdout).toMatch(/^Guards:\n {2}alerts:\n {4}- alertname="HighErrorRate"\n {4}- service=~"api\|web"$/m);
    expect(r.stdout).not.toContain('{"');
    expect((await cli(['stop', '--all'], env)).code).toBe(0);
  });

  it('get targets: sorted by pid, filtered by --name, commands not cut inside a word', async () => {
    const pids = [sleeper(), sleeper()];
    const r = await cli(['get', 'targets', '--name', '^sleep$'], env);
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').slice(1);
    const listed = rows.map((l) => Number(l.split(/\s+/)[1]));
    expect(listed).toEqual([...listed].sort((a, b) => a - b));
    for (const p of pids) expect(listed).toContain(p);
    for (const l of rows) expect(l).toMatch(/\ssleep\s/);
    expect((await cli(['get', 'targets', '--name', '(unclosed'], env)).code).toBe(2);
    // the same RE2 engine as the API: a lookahead is JavaScript, not RE2
    const lookahead = await cli(['get', 'targets', '--name', 'sl(?=eep)'], env);
    expect([lookahead.code, lookahead.stderr]).toEqual([2, expect.stringContaining('not an RE2 regular expression')]);
  });
});

describe('usage errors end in what to do (exit 2)', () => {
  it('a typo in a command, a bad flag value, a URL without scheme, an unknown resource', async () => {
    let r = await cli(['gett', 'experiments'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'gett'/);
    expect(r.stderr).toMatch(/Did you mean get\?/);
    r = await cli(['get', 'experiments', '--phase', 'Runing'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--phase "Runing" is not a phase: did you mean Running\?/);
    r = await cli(['get', 'experiments', '--server', 'localhost:9470'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did you mean http:\/\/localhost:9470\?/);
    r = await cli(['get', 'experimnets'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did you mean experiments\?/);
    r = await cli(['get', 'experiments', '-o', 'wid'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are table, wide, name, json, yaml/);
    r = await cli(['get', 'experiments', '-l', '=web'], env);
    expect(r.code).toBe(2);
  });

  it('YAML errors show the line and a caret under the column', async () => {
    const f = path.join(dir, 'broken.yaml');
    writeFileSync(f, 'metadata:\n  name: x\nspec: [\n  fault: {kind: process-pause\n');
    const r = await cli(['apply', '-f', f], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}:\\d+:\\d+: document 1 is not valid YAML`));
    expect(r.stderr).toMatch(/\n {2}\d+ \| .*\n {2} +\| +\^/);
  });

  it('a server that is not a Faultline exporter is named as such (exit 5)', async () => {
    const other = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>')).listen(0, '127.0.0.1');
    await new Promise((r) => other.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as net.AddressInfo).port}`;
      const r = await cli(['get', 'experiments'], { FAULTLINE_SERVER: url });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/answered GET \/api\/v1\/experiments with HTTP 200 \(text\/html\): not a Faultline exporter\? Check --server/);
    } finally {
      other.close();
    }
  });

  it('a taken port says which flag picks another', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const dataDir = path.join(dir, 'taken');
      const r = await cli(['start', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'warn'], {});
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`faultline: port ${port} is taken on 127.0.0.1`);
      expect(r.stderr).toMatch(/use --listen HOST:PORT/);
      // The embedded daemon was stopped, not left to die with the process: its watchdog is gone
      // with it and did not run crash recovery over the state dir (which it would do after the
      // command had exited, writing into a folder the user may already be removing).
      expect(processesNaming(path.resolve(dataDir))).toEqual([]);
      expect(readFileSync(path.join(dataDir, 'embedded-daemon', 'watchdog.log'), 'utf8')).not.toMatch(/daemon died/);
    } finally {
      busy.close();
    }
  });
});
