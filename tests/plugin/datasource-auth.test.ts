/** @jest-environment ./tests/plugin/jsdom-with-fetch.cjs */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from '../../src/datasource/datasource';
import { installGrafana } from './helpers/grafana-backend';
import { instanceSettings } from './helpers/settings';
import { startTestExporter, type TestExporter } from './helpers/exporter';

// Save & test and the error paths, against a real exporter with token auth: each failure says
// which check failed and what to do. Also: Grafana lets an Editor through, the exporter still
// refuses a viewer token's mutation.

jest.setTimeout(240_000);

const OPERATOR = `operator-secret-${process.pid}-xxxxxxxx`;
const VIEWER = `viewer-secret-${process.pid}-xxxxxxxxxx`;

let exporter: TestExporter;
let other: http.Server;
let otherUrl: string;

function dataSource(uid: string, url: string, apiToken?: string): DataSource {
  installGrafana({ uid, url, secureJsonData: apiToken === undefined ? {} : { apiToken } }, 'Editor');
  return new DataSource(instanceSettings(uid, {}, 3));
}

beforeAll(async () => {
  exporter = await startTestExporter({ tokens: `grafana:operator:${OPERATOR},reader:viewer:${VIEWER}`, token: OPERATOR });
  // Some other HTTP service: says "ok" on /api/v1/health, but is not Faultline.
  other = http.createServer((req, res) => {
    if (req.url === '/api/v1/health') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await exporter?.stop();
  await new Promise((r) => other?.close(r));
});

it('succeeds with a valid token', async () => {
  expect(await dataSource('ok', exporter.url, OPERATOR).testDatasource()).toMatchObject({ status: 'success', message: expect.stringContaining('the API token is accepted') });
});

it('401: names the token as the problem', async () => {
  const res = await dataSource('bad', exporter.url, 'not-the-right-token-at-all').testDatasource();
  expect(res.status).toBe('error');
  expect(res.message).toMatch(/^The exporter rejected the API token \(401: the token is not valid\)\. Paste a valid token/);
});

it('401 without a token: says a token is required', async () => {
  const res = await dataSource('none', exporter.url).testDatasource();
  expect(res.status).toBe('error');
  expect(res.message).toMatch(/rejected the API token \(401: a valid token is required/);
});

it('a viewer token reads, but the exporter refuses its mutations (403) even for a Grafana Editor', async () => {
  const ds = dataSource('viewer', exporter.url, VIEWER);
  expect((await ds.testDatasource()).status).toBe('success');
  const err = await ds.client.stopAll('test').catch((e: unknown) => e);
  expect(err).toMatchObject({ status: 403, code: 'forbidden', message: expect.stringContaining('role viewer') });
});

it('not a Faultline exporter: says so and points at URL and port', async () => {
  const res = await dataSource('other', otherUrl, OPERATOR).testDatasource();
  expect(res).toEqual({ status: 'error', message: expect.stringMatching(/^The URL answers, but it is not a Faultline exporter/) });
  const res404 = await dataSource('other404', `${otherUrl}/sub`, OPERATOR).testDatasource();
  expect(res404.message).toMatch(/^The URL answers, but not like a Faultline exporter \(404 on \/api\/v1\)/);
});

it('unreachable: says Grafana\'s server cannot reach it', async () => {
  const res = await dataSource('down', 'http://127.0.0.1:9', OPERATOR).testDatasource();
  expect(res.status).toBe('error');
  expect(res.message).toMatch(/^Grafana's server cannot reach the exporter \(502: Bad Gateway/);
});
