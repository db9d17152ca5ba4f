import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { authenticate, credentialOf, isLoopback } from '../../../exporter/auth/middleware';
import { allows, type Access } from '../../../exporter/auth/permissions';
import { loadTokens, parseTokens, parseTokensEnv, sha256, TokenSet } from '../../../exporter/auth/tokens';
import { route, type Method } from '../../../exporter/routes/route';
import { appOf } from '../../../exporter/routes/router';
import { routeTable, type TableDeps } from '../../../exporter/routes/table';
import { request } from '../../helpers/http';

const SECRETS = { viewer: 'viewer-secret-0123456789', operator: 'operator-secret-0123456789', admin: 'admin-secret-0123456789', am: 'alertmanager-secret-0123' };

const TOKENS_YAML = `
tokens:
  - name: dashboards
    token: ${SECRETS.viewer}
    role: viewer
  - name: ci
    sha256: ${sha256(SECRETS.operator).toString('hex')}
    role: operator
  - name: oncall
    token: ${SECRETS.admin}
    role: admin
  - name: alertmanager
    token: ${SECRETS.am}
    role: alerting
`;

// The real exporter's roles, each route answering with the actor instead of doing its work.
const ROLES = new Map(routeTable({} as TableDeps).map((r) => [`${r.method} ${r.path}`, r.role]));

async function serve(tokens: TokenSet): Promise<{ url: string; server: Server }> {
  const routes = [...ROLES].map(([key, role]) => {
    const [method, p] = key.split(' ') as [Method, string];
    return route({ method, path: p, role, summary: key, response: { description: 'the actor' }, handler: ({ actor }) => ({ actor }) });
  });
  const app = appOf({ routes, authenticate: authenticate({ tokens }), log: pino({ level: 'silent' }) });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('token files', () => {
  it('reads YAML and JSON, plain tokens and sha256 digests', () => {
    const set = parseTokens(TOKENS_YAML);
    expect(set.size).toBe(4);
    expect(set.lookup(SECRETS.operator)).toEqual({ name: 'ci', role: 'operator' });
    expect(set.lookup(SECRETS.am)).toEqual({ name: 'alertmanager', role: 'alerting' });
    expect(set.lookup('nope-nope-nope-nope')).toBeNull();
    const json = parseTokens(JSON.stringify([{ name: 'x', token: SECRETS.viewer, role: 'viewer' }]));
    expect(json.lookup(SECRETS.viewer)?.name).toBe('x');
  });

  it.each([
    ['[{name: a, token: short, role: admin}]', '/0/token'],
    ['[{name: a, token: long-enough-secret-123, role: root}]', '/0/role'],
    ['[{name: "a b", token: long-enough-secret-123, role: admin}]', '/0/name'],
    ['[{name: a, role: admin}]', 'exactly one of token and sha256'],
    ['[{name: a, token: long-enough-secret-123, sha256: ' + 'a'.repeat(64) + ', role: admin}]', 'exactly one'],
    ['[{name: a, token: long-enough-secret-123, role: admin}, {name: a, token: other-long-secret-456, role: viewer}]', 'used twice'],
    ['[{name: a, token: long-enough-secret-123, role: admin, extra: 1}]', '/0/extra'],
    ['tokens: [', 'not YAML'],
  ])('rejects %s', (text, reason) => {
    expect(() => parseTokens(text)).toThrow(reason);
  });

  it('reads FAULTLINE_TOKENS in the short form and as JSON; a file wins over the env', () => {
    const set = parseTokensEnv(`grafana:operator:${SECRETS.operator},am:alerting:${SECRETS.am}`);
    expect(set.lookup(SECRETS.operator)).toEqual({ name: 'grafana', role: 'operator' });
    expect(() => parseTokensEnv('grafana:operator')).toThrow('name:role:secret');
    expect(parseTokensEnv(JSON.stringify([{ name: 'j', token: SECRETS.admin, role: 'admin' }])).lookup(SECRETS.admin)?.role).toBe('admin');
    const dir = mkdtempSync(path.join(tmpdir(), `faultline-tokens-${process.pid}-`));
    try {
      const file = path.join(dir, 'tokens.yaml');
      writeFileSync(file, TOKENS_YAML);
      expect(loadTokens({ file, env: 'x:admin:yyyyyyyyyyyyyyyyyyyy' }).size).toBe(4);
      expect(() => loadTokens({ file: path.join(dir, 'missing.yaml') })).toThrow('cannot read tokens file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('permissions', () => {
  it.each([
    ['GET /api/v1/experiments', 'viewer'],
    ['POST /api/v1/experiments', 'operator'],
    ['DELETE /api/v1/experiments/:namespace/:name', 'operator'],
    ['POST /api/v1/stop-all', 'operator'],
    ['POST /api/v1/freeze', 'operator'],
    ['DELETE /api/v1/freeze', 'admin'],
    ['POST /api/v1/alerts/alertmanager', 'webhook'],
    ['POST /api/v1/alerts/grafana', 'webhook'],
    ['POST /api/v1/workflows/:namespace/:name/abort', 'operator'],
  ])('the route table says %s needs %s', (key, access) => {
    expect(ROLES.get(key)).toBe(access as Access);
  });

  it('every route that changes something needs more than viewer', () => {
    for (const [key, role] of ROLES) if (!key.startsWith('GET ')) expect([key, role]).not.toEqual([key, 'viewer']);
  });

  it('orders roles and keeps the alerting role to webhooks', () => {
    expect(allows('alerting', 'webhook')).toBe(true);
    expect(allows('alerting', 'viewer')).toBe(false);
    expect(allows('viewer', 'webhook')).toBe(false);
    expect(allows('operator', 'webhook')).toBe(true);
    expect(allows('operator', 'admin')).toBe(false);
    expect(allows('admin', 'operator')).toBe(true);
  });

  it('knows loopback addresses and reads bearer and basic credentials', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.3.2.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('::ffff:192.168.1.1')).toBe(false);
    expect(isLoopback('128.0.0.1')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
    expect(credentialOf('Bearer abc')).toBe('abc');
    expect(credentialOf(`Basic ${Buffer.from('alertmanager:s3:cret').toString('base64')}`)).toBe('s3:cret');
    expect(credentialOf('Digest x')).toBeNull();
    expect(credentialOf('Bearer')).toBeNull();
  });
});

describe('auth middleware over HTTP', () => {
  let withTokens: { url: string; server: Server };
  let anonymous: { url: string; server: Server };
  beforeAll(async () => {
    withTokens = await serve(parseTokens(TOKENS_YAML));
    anonymous = await serve(TokenSet.empty());
  });
  afterAll(() => {
    withTokens.server.close();
    anonymous.server.close();
  });

  const call = (base: string, method: string, p: string, auth?: string, extra: Record<string, string> = {}) =>
    request(base, method, p, undefined, { headers: { ...(auth ? { authorization: auth } : {}), ...extra } });

  it('401 without a token or with a wrong one, with a WWW-Authenticate challenge', async () => {
    const r = await call(withTokens.url, 'GET', '/api/v1/experiments');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('Bearer');
    expect(r.body.error.code).toBe('unauthorized');
    expect((await call(withTokens.url, 'GET', '/api/v1/experiments', 'Bearer wrong-wrong-wrong-wrong')).status).toBe(401);
  });

  it('403 naming the role that would be needed', async () => {
    const r = await call(withTokens.url, 'POST', '/api/v1/freeze', `Bearer ${SECRETS.viewer}`);
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/role viewer.*needs role operator/);
    expect((await call(withTokens.url, 'DELETE', '/api/v1/freeze', `Bearer ${SECRETS.viewer}`)).status).toBe(403);
    expect((await call(withTokens.url, 'POST', '/api/v1/stop-all', `Bearer ${SECRETS.viewer}`)).status).toBe(403);
    expect((await call(withTokens.url, 'DELETE', '/api/v1/freeze', `Bearer ${SECRETS.operator}`)).status).toBe(403);
    expect((await call(withTokens.url, 'GET', '/api/v1/experiments', `Bearer ${SECRETS.am}`)).status).toBe(403);
    expect((await call(withTokens.url, 'POST', '/api/v1/experiments', `Bearer ${SECRETS.am}`)).status).toBe(403);
  });

  it('admits allowed roles and records the actor, with X-Grafana-User', async () => {
    expect((await call(withTokens.url, 'GET', '/api/v1/experiments', `Bearer ${SECRETS.viewer}`)).body).toEqual({ actor: 'dashboards' });
    expect((await call(withTokens.url, 'POST', '/api/v1/stop-all', `Bearer ${SECRETS.operator}`)).status).toBe(200);
    expect((await call(withTokens.url, 'DELETE', '/api/v1/freeze', `Bearer ${SECRETS.admin}`)).status).toBe(200);
    const viaGrafana = await call(withTokens.url, 'POST', '/api/v1/experiments', `Bearer ${SECRETS.operator}`, { 'x-grafana-user': 'alice' });
    expect(viaGrafana.body).toEqual({ actor: 'alice (ci)' });
  });

  it('takes basic auth with the token as password, as Alertmanager and Grafana send it', async () => {
    const basic = `Basic ${Buffer.from(`alertmanager:${SECRETS.am}`).toString('base64')}`;
    const r = await call(withTokens.url, 'POST', '/api/v1/alerts/alertmanager', basic);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ actor: 'alertmanager' });
  });

  it('anonymous on loopback only when no tokens are configured', async () => {
    const r = await call(anonymous.url, 'POST', '/api/v1/freeze');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ actor: 'anonymous' });
    expect((await call(withTokens.url, 'POST', '/api/v1/freeze')).status).toBe(401);
  });
});
