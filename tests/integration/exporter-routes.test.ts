import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import { ERROR_CODES, ErrorBody } from '../../api/errors';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { allows, type Access } from '../../exporter/auth/permissions';
import { parseTokens, type Role } from '../../exporter/auth/tokens';
import { MAX_JSON_DEPTH } from '../../server-common/json-body';
import { openapiPath, pathParams, type Route } from '../../exporter/routes/route';
import { request } from '../helpers/http';
import { ROOT, startStack, type Stack } from './exporter-helpers';

// The route table is the exporter's one list of routes. This checks that everything else agrees
// with it — the router express really serves, /api/v1/openapi.json, the Grafana proxy routes of
// every plugin.json — and that the role check holds for every route, every role and every other
// spelling of a path (case, percent-encoding, extra slashes): the spellings reach no route at all.

jest.setTimeout(120_000);

const TOKENS: Record<Role, string> = {
  viewer: `viewer-${process.pid}-0123456789`,
  operator: `operator-${process.pid}-0123456789`,
  admin: `admin-${process.pid}-0123456789`,
  alerting: `alerting-${process.pid}-0123456789`,
};

let s: Stack;
let routes: Route[];
beforeAll(async () => {
  s = await startStack({ tokens: parseTokens(JSON.stringify(Object.entries(TOKENS).map(([role, token]) => ({ name: `t-${role}`, token, role })))) });
  routes = s.ex.routes;
});
afterAll(async () => {
  await s?.close();
});

const key = (method: string, p: string) => `${method.toUpperCase()} ${p}`;
const call = (method: string, p: string, role: Role | null, body?: unknown) => request(s.url, method, p, body, { token: role ? TOKENS[role] : null });
// Answers are checked against their schemas as they stand: schemas with an $id (Health holds FreezeState,
// Workflow and WorkflowList both hold WorkflowStep) are compiled each on their own, not registered.
const ajv = addFormats(new Ajv({ strict: false, allErrors: true, addUsedSchema: false }));
// Faultline's own formats (api/validate.ts checks them on requests): answers carry stored values, shapes are what is checked here
for (const f of ['re2', 'prom-selector', 'cidr', 'duration', 'size', 'rate']) ajv.addFormat(f, true);
const compiled = new Map<TSchema, ReturnType<Ajv['compile']>>();
function check(schema: TSchema, value: unknown): unknown[] {
  let fn = compiled.get(schema);
  if (!fn) compiled.set(schema, (fn = ajv.compile(schema)));
  return fn(value) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
/** A concrete path for a route: parameters filled with names that exist nowhere. */
const concrete = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => `no-such-${name}`);
const isNoRoute = (r: { status: number; body: any }) => r.status === 404 && r.body?.error?.code === 'not_found' && /^no route /.test(r.body.error.message);

/** Every (method, path) express serves, found by walking the app's router and the routers mounted in it. */
function walk(app: Express): string[] {
  const found: string[] = [];
  const visit = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) if (m !== '_all') found.push(key(m, layer.route.path));
      if (Array.isArray(layer.handle?.stack)) visit(layer.handle.stack);
    }
  };
  visit((app as unknown as { router: { stack: any[] } }).router.stack);
  return found;
}

describe('one route table', () => {
  it('the router serves exactly the routes of the table, each once, every /api/v1 path under the one prefix', () => {
    const table = routes.map((r) => key(r.method, r.path));
    expect(new Set(table).size).toBe(table.length);
    expect(walk(s.ex.app).sort()).toEqual([...table].sort());
    for (const r of routes) expect(r.path === '/metrics' || r.path.startsWith('/api/v1/')).toBe(true);
    // the routes issue 15 found missing from the OpenAPI document are in the table
    for (const k of ['GET /api/v1/workflows', 'POST /api/v1/workflows/:namespace/:name/abort', 'GET /api/v1/experiments/:namespace/:name/report']) expect(table).toContain(k);
  });

  it('/api/v1/openapi.json has one operation per route, with its role, path parameters, schemas and the error codes', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json', 'viewer')).body;
    expect(doc.openapi).toBe('3.1.0');
    const ops: string[] = [];
    for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) for (const m of Object.keys(item)) ops.push(key(m, p));
    expect(ops.sort()).toEqual(routes.map((r) => key(r.method, openapiPath(r.path))).sort());
    for (const r of routes) {
      const op = doc.paths[openapiPath(r.path)][r.method.toLowerCase()];
      expect([key(r.method, r.path), op['x-faultline-role']]).toEqual([key(r.method, r.path), r.role]);
      expect(op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name)).toEqual(pathParams(r.path));
      expect(op.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name)).toEqual(Object.keys(r.query?.properties ?? {}));
      expect(Boolean(op.requestBody)).toBe(Boolean(r.body));
      expect(Object.keys(op.responses)).toContain(String(r.response.status ?? 200));
    }
    // every $ref points at a schema the document has
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    for (const name of new Set(refs)) expect([name, doc.components.schemas[name]]).toEqual([name, expect.any(Object)]);
    expect(doc.components.schemas.ExperimentInput.properties.spec).toEqual(expect.objectContaining({ type: 'object' }));
    expect(doc.components.schemas.ErrorBody.properties.error.properties.code.anyOf.map((c: any) => c.const).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("every plugin.json's Grafana proxy routes reach each /api/v1 route only with a Grafana role that matches the route's role", () => {
    type ProxyRoute = { path: string; method?: string; reqRole?: 'Viewer' | 'Editor' | 'Admin' };
    const manifests: string[] = [];
    const find = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !['node_modules', 'dist', '.git', 'coverage'].includes(e.name)) find(path.join(dir, e.name));
        else if (e.name === 'plugin.json') manifests.push(path.join(dir, e.name));
      }
    };
    find(ROOT);
    const withRoutes = manifests.map((f) => ({ f, routes: (JSON.parse(readFileSync(f, 'utf8')) as { routes?: ProxyRoute[] }).routes ?? [] })).filter((m) => m.routes.length > 0);
    expect(withRoutes.length).toBeGreaterThan(0);
    const rank = { Viewer: 1, Editor: 2, Admin: 3 } as const;
    // the Grafana role a route needs: editing chaos is Editor, lifting a freeze is Admin
    const needs: Record<Access, keyof typeof rank> = { viewer: 'Viewer', operator: 'Editor', webhook: 'Editor', admin: 'Admin' };
    for (const { f, routes: proxy } of withRoutes) {
      for (const r of routes.filter((x) => x.path.startsWith('/api/v1/'))) {
        const p = concrete(r.path).slice(1);
        // as Grafana's data source proxy: the first route whose method and path prefix match wins
        const match = proxy.find((x) => (!x.method || x.method === '*' || x.method.toUpperCase() === r.method) && p.startsWith(x.path.replace(/^\/+/, '')));
        const got = match?.reqRole ?? 'Viewer';
        expect([path.relative(ROOT, f), key(r.method, r.path), match ? 'proxied' : 'not proxied', rank[got] >= rank[needs[r.role]]]).toEqual([path.relative(ROOT, f), key(r.method, r.path), 'proxied', true]);
      }
    }
  });
});

describe('every route × every role', () => {
  const ROLES: (Role | null)[] = [null, 'alerting', 'viewer', 'operator', 'admin'];

  it('anonymous is 401, a role below the route is 403 naming the role it needs, the others reach the route', async () => {
    const seen: string[] = [];
    for (const r of routes) {
      for (const role of ROLES) {
        const res = await call(r.method, concrete(r.path), role);
        const what = `${role ?? 'anonymous'} ${key(r.method, r.path)} → ${res.status} ${JSON.stringify(res.body?.error ?? '')}`;
        if (role === null) expect([what, res.status]).toEqual([what, 401]);
        else if (!allows(role, r.role)) {
          expect([what, res.status, res.body.error.code]).toEqual([what, 403, 'forbidden']);
          expect(res.body.error.message).toContain(`needs role ${r.role === 'webhook' ? 'alerting or operator' : r.role}`);
        } else {
          // past the role check: the route's own answer (200, or 400/404 for the made-up names and missing bodies)
          expect([what, [401, 403].includes(res.status) || isNoRoute(res) || res.status >= 500]).toEqual([what, false]);
          // a success is what the table (and so the OpenAPI document) says it is
          if (res.status === (r.response.status ?? 200) && r.response.schema) expect([what, check(r.response.schema, res.body)]).toEqual([what, []]);
          else if (res.status >= 400) expect([what, check(ErrorBody, res.body)]).toEqual([what, []]);
        }
        seen.push(what);
      }
    }
    expect(seen.length).toBe(routes.length * ROLES.length);
  });
});

describe('other spellings of a path reach no route', () => {
  /** Spellings of a path that a case-insensitive, non-strict or decoding router would take for it. */
  function variants(p: string): string[] {
    const segs = p.split('/');
    const last = segs.map((x, i) => (x && !x.startsWith('no-such-') ? i : -1)).filter((i) => i >= 0).pop()!;
    const at = (i: number, f: (x: string) => string) => segs.map((x, j) => (j === i ? f(x) : x)).join('/');
    return [
      p.toUpperCase(),
      p.replace('/api/v1/', '/API/v1/'),
      p.replace('/api/v1/', '/api/V1/'),
      at(last, (x) => x.toUpperCase()),
      at(last, (x) => x[0].toUpperCase() + x.slice(1)),
      at(last, (x) => `%${x.charCodeAt(0).toString(16)}${x.slice(1)}`),
      at(last, (x) => `%${x.charCodeAt(0).toString(16).toUpperCase()}${x.slice(1)}`),
      `/${p}`,
      `${p}/`,
      p.replace(/\/([^/]+)$/, '//$1'),
    ].filter((v) => v !== p);
  }

  it('/api/v1/FREEZE, /Freeze, /%66reeze, //api/v1/freeze, /freeze/: an operator cannot lift the freeze', async () => {
    expect((await call('POST', '/api/v1/freeze', 'operator', { reason: 'routes test' })).status).toBe(200);
    for (const p of ['/api/v1/FREEZE', '/api/v1/Freeze', '/api/v1/%66reeze', '/api/v1/%66REEZE', '//api/v1/freeze', '/api/v1/freeze/', '/api/v1//freeze', '/API/v1/freeze']) {
      const r = await call('DELETE', p, 'operator');
      expect([p, isNoRoute(r)]).toEqual([p, true]);
    }
    expect((await call('GET', '/api/v1/freeze', 'viewer')).body.frozen).toBe(true);
    expect((await call('DELETE', '/api/v1/freeze', 'operator')).status).toBe(403);
    expect((await call('DELETE', '/api/v1/freeze', 'admin')).status).toBe(200);
    expect((await call('GET', '/api/v1/freeze', 'viewer')).body.frozen).toBe(false);
  });

  it('for every route, every other spelling is 404 "no route", even for admin', async () => {
    let tried = 0;
    for (const r of routes) {
      for (const v of variants(concrete(r.path))) {
        const res = await call(r.method, v, 'admin');
        expect([key(r.method, v), res.status, isNoRoute(res)]).toEqual([key(r.method, v), 404, true]);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(routes.length * 8);
  });
});

describe('request bodies', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it.each(['/api/v1/experiments', '/api/v1/workflows', '/api/v1/freeze', '/api/v1/alerts/alertmanager'])('JSON nested 10 000 deep to POST %s is a 400 naming the depth limit', async (p) => {
    const r = await call('POST', p, 'admin', `{"metadata":${nested(10_000)}}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({ code: 'invalid_input', message: `invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`, details: [{ field: '/', reason: expect.stringContaining(`${MAX_JSON_DEPTH} levels`) }] });
  });

  it('the limit counts objects and arrays, not brackets inside strings', async () => {
    const atLimit = await call('POST', '/api/v1/freeze', 'operator', `{"reason":"x","until":${nested(MAX_JSON_DEPTH - 1)}}`);
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.error.message).not.toContain('nested deeper');
    expect(atLimit.body.error.details[0].field).toBe('/until');
    const inString = await call('POST', '/api/v1/freeze', 'operator', { reason: `${'[{'.repeat(300)}"\\`, until: 'soon' });
    expect(inString.status).toBe(400);
    expect(inString.body.error.details).toEqual([{ field: '/until', reason: expect.any(String) }]);
    expect((await call('GET', '/api/v1/freeze', 'viewer')).body.frozen).toBe(false);
  });

  it('stop-all takes no body: a malformed one does not keep chaos from stopping', async () => {
    const r = await call('POST', '/api/v1/stop-all', 'operator', '{"reason": nope');
    expect(r.status).toBe(200);
    expect(r.body.stopped).toEqual(expect.any(Array));
  });
});
