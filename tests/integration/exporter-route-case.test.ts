import { startStack, type Stack } from './exporter-helpers';

// Grafana's proxy guards `api/v1` with a case-sensitive prefix; the exporter must not answer any
// other spelling of it, or a Viewer could stop chaos with `API/v1/stop-all` around the role check.

jest.setTimeout(120_000);

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.close();
});

it.each(['/API/v1/stop-all', '/Api/V1/stop-all', '/api/V1/stop-all'])('refuses %s with 404 and stops nothing', async (path) => {
  const r = await s.api('POST', path);
  expect(r.status).toBe(404);
  expect(r.body.error.code).toBe('not_found');
});

it('still answers the exact prefix', async () => {
  expect((await s.api('POST', '/api/v1/stop-all')).status).toBe(200);
});
