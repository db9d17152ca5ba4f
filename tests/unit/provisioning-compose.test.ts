import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { registerAll } from '../../cli/commands/index';
import { parseDemoConfig } from '../../demo/config';
import { describeWithTools } from '../helpers/require-tool';
import { REPO, readJson, readYaml } from '../helpers/stack';

// docker-compose.yaml and the Dockerfile, checked without a Docker engine: Debian's
// docker-compose validates the file (`config`), and the rest is cross-checked here — mounts
// exist, ports stay on loopback, health checks back every `service_healthy`, and every
// faultline command in the stack is a real subcommand with real flags.

const run = promisify(execFile);
// External tools on a loaded machine: generous, never a speed assertion.
jest.setTimeout(60_000);
const COMPOSE = path.join(REPO, 'docker-compose.yaml');
const compose = readYaml(COMPOSE);
const services: Record<string, any> = compose.services;
const FAULTLINE_SERVICES = Object.keys(services).filter((s) => services[s].image === 'faultline:dev');

describeWithTools(['docker-compose'], 'docker-compose config', () => {
  it('accepts docker-compose.yaml', async () => {
    const r = await run('docker-compose', ['-f', COMPOSE, 'config', '-q'], { cwd: REPO, timeout: 60_000 });
    expect(r.stderr).toBe('');
  });

  it('resolves the token defaults and lets a .env-style override through', async () => {
    const r = await run('docker-compose', ['-f', COMPOSE, 'config'], {
      cwd: REPO,
      timeout: 60_000,
      env: { ...process.env, FAULTLINE_ALERT_TOKEN: `override-token-${process.pid}-abcdef` },
    });
    expect(r.stdout).toContain(`alerting:alerting:override-token-${process.pid}-abcdef`);
    expect(r.stdout).toContain('grafana:operator:demo-grafana-token-change-me');
  });
});

describe('docker-compose.yaml', () => {
  it('has the whole stack', () => {
    expect(Object.keys(services).sort()).toEqual(['alertmanager', 'daemon', 'demo', 'exporter', 'grafana', 'plugins', 'prometheus']);
    expect(FAULTLINE_SERVICES.sort()).toEqual(['daemon', 'demo', 'exporter']);
  });

  it('publishes ports on loopback only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) expect({ name, port: String(p) }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/) });
    }
  });

  it('mounts only files that exist in the repository', () => {
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const src = String(v).split(':')[0];
        if (src.startsWith('.')) expect(existsSync(path.join(REPO, src))).toBe(true);
      }
    }
  });

  it('backs every service_healthy dependency with a health check and starts Grafana after the plugin build', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries<any>(s.depends_on ?? {})) {
        expect(services[dep]).toBeDefined();
        if (cond.condition === 'service_healthy') expect({ name, dep, healthcheck: !!services[dep].healthcheck }).toEqual({ name, dep, healthcheck: true });
      }
    }
    expect(services.grafana.depends_on.plugins.condition).toBe('service_completed_successfully');
    expect(services.plugins.volumes).toContain('grafana-plugins:/plugins');
    expect(services.grafana.volumes).toContain('grafana-plugins:/var/lib/grafana/plugins');
  });

  it('allows exactly the Faultline app and its nested plugins unsigned', () => {
    const ids = ['src/plugin.json', 'src/datasource/plugin.json', 'src/panel/plugin.json'].map((f) => readJson(path.join(REPO, f)).id);
    const allowed = String(services.grafana.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).split(',');
    expect(allowed.sort()).toEqual(['faultline-chaos-app', 'faultline-chaos-datasource', 'faultline-chaos-panel']);
    for (const id of ids) expect(allowed).toContain(id);
  });

  it('gives the daemon the host view it needs for nft, tc and signals', () => {
    expect(services.daemon.privileged).toBe(true);
    expect(services.daemon.pid).toBe('host');
  });

  it('runs faultline subcommands that exist, with flags they know', async () => {
    const program = new Command('faultline');
    await registerAll(program);
    const byName = new Map(program.commands.map((c) => [c.name(), c]));
    for (const name of FAULTLINE_SERVICES) {
      const [sub, ...args] = services[name].command as string[];
      const cmd = byName.get(sub);
      if (!cmd) throw new Error(`service ${name} runs "faultline ${sub}", which is not a registered command`);
      const known = new Set(cmd.options.map((o) => o.long));
      for (const a of args) if (a.startsWith('--')) expect({ name, flag: a, known: known.has(a) }).toEqual({ name, flag: a, known: true });
    }
  });

  it('sets only FAULTLINE_* environment variables that the command reads', async () => {
    const program = new Command('faultline');
    await registerAll(program);
    // Read from the environment directly, not as a flag's twin.
    const direct = new Set(['FAULTLINE_TOKENS']);
    for (const name of FAULTLINE_SERVICES) {
      const cmd = program.commands.find((c) => c.name() === (services[name].command as string[])[0])!;
      const known = new Set(cmd.options.map((o) => o.envVar).filter(Boolean));
      for (const key of Object.keys(services[name].environment ?? {})) {
        if (!key.startsWith('FAULTLINE_')) continue;
        expect({ name, key, read: known.has(key) || direct.has(key) }).toEqual({ name, key, read: true });
      }
    }
  });

  it("starts the demo with options the demo's own schema accepts", () => {
    const [, ...args] = services.demo.command as string[];
    const input: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i += 2) {
      const key = args[i].replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      input[key] = /^[0-9.]+$/.test(args[i + 1]) ? Number(args[i + 1]) : args[i + 1];
    }
    expect(parseDemoConfig(input)).toMatchObject({ listen: '0.0.0.0:9480', load: 20 });
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('copies only paths that exist and are not ignored', () => {
    const copies = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(copies.length).toBeGreaterThan(3);
    for (const src of copies) {
      if (src === '.') continue;
      expect({ src, exists: existsSync(path.join(REPO, src)) }).toEqual({ src, exists: true });
      expect(ignored).not.toContain(src);
    }
  });

  it('has the stages compose builds and the faultline entry point', () => {
    const stages = [...text.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const s of Object.values(services)) if (s.build?.target) expect(stages).toContain(s.build.target);
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/faultline\.js"\]$/m);
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.git']));
  });
});
