import net from 'node:net';
import { ApiError } from '../../../api/errors';
import { outcome, PrometheusClient, PromqlGuards } from '../../../exporter/guards/promql';

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PromQL results', () => {
  // Bodies as Prometheus 2.x returns them from /api/v1/query.
  it('a non-empty vector is true, an empty one false', () => {
    expect(outcome('vector', [])).toEqual({ breached: false, summary: '' });
    const o = outcome('vector', [{ metric: { job: 'app', instance: '127.0.0.1:8080' }, value: [1764052800.123, '0.31'] }]);
    expect(o.breached).toBe(true);
    expect(o.summary).toBe('{job="app", instance="127.0.0.1:8080"} 0.31');
    const many = Array.from({ length: 5 }, (_, i) => ({ metric: { i: String(i) }, value: [1, '1'] }));
    expect(outcome('vector', many).summary).toContain('5 series');
  });

  it('a scalar is true when non-zero', () => {
    expect(outcome('scalar', [1, '0']).breached).toBe(false);
    expect(outcome('scalar', [1, 'NaN']).breached).toBe(false);
    expect(outcome('scalar', [1, '2']).breached).toBe(true);
  });

  it('rejects a Prometheus URL that is not http(s)', () => {
    expect(() => new PrometheusClient('not a url')).toThrow('is not a URL');
    expect(() => new PrometheusClient('ftp://127.0.0.1/')).toThrow('http');
  });
});

describe('PromQL guards without a reachable Prometheus', () => {
  it('abort after N failed evaluations, saying why', async () => {
    const client = new PrometheusClient(`http://127.0.0.1:${await closedPort()}`);
    const aborts: { ref: string; reason: string; actor: string }[] = [];
    const g = new PromqlGuards({
      client,
      maxFailures: 3,
      abort: async (ref, reason, actor) => {
        aborts.push({ ref: `${ref.namespace}/${ref.name}`, reason, actor });
      },
    });
    g.watch({ namespace: 'shop', name: 'p' }, [{ expr: 'up == 0', for: '0s', interval: '100ms' }]);
    await until(() => aborts.length > 0);
    expect(aborts[0].ref).toBe('shop/p');
    expect(aborts[0].reason).toMatch(/could not be evaluated 3 times in a row .*unreachable.*ECONNREFUSED/);
    expect(aborts[0].actor).toBe('promql-guard');
    expect(g.watching).toBe(0);
    g.close();
  });

  it('an abort that fails (experiment deleted meanwhile) ends the evaluator without an unhandled rejection', async () => {
    const client = new PrometheusClient(`http://127.0.0.1:${await closedPort()}`);
    let calls = 0;
    const warned: string[] = [];
    const g = new PromqlGuards({
      client,
      maxFailures: 1,
      abort: async () => {
        calls++;
        throw new Error('not found');
      },
      log: { warn: (_o, m) => warned.push(m) },
    });
    g.watch({ namespace: 'shop', name: 'gone' }, [{ expr: 'up', interval: '100ms' }]);
    await until(() => warned.includes('PromQL guard abort failed'));
    await new Promise((r) => setTimeout(r, 400));
    expect(calls).toBe(1);
    expect(g.watching).toBe(0);
    g.close();
  });

  it('with onFailure "ignore" keeps running and notes the blind guard once', async () => {
    const client = new PrometheusClient(`http://127.0.0.1:${await closedPort()}`);
    const notes: string[] = [];
    const aborts: string[] = [];
    const g = new PromqlGuards({
      client,
      maxFailures: 2,
      onFailure: 'ignore',
      abort: async (_ref, reason) => {
        aborts.push(reason);
      },
      note: (_ref, m) => notes.push(m),
    });
    await expect(g.preflight({ namespace: 'a', name: 'b' }, [{ expr: 'up', interval: '100ms' }])).resolves.toBeUndefined();
    g.watch({ namespace: 'a', name: 'b' }, [{ expr: 'up', interval: '100ms' }]);
    await until(() => notes.length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(aborts).toEqual([]);
    expect(notes.filter((n) => n.includes('is blind'))).toHaveLength(1);
    expect(g.watching).toBe(1);
    g.close();
    expect(g.watching).toBe(0);
  });

  it('pre-flight refuses to start (503) when Prometheus is down and onFailure is abort', async () => {
    const g = new PromqlGuards({ client: new PrometheusClient(`http://127.0.0.1:${await closedPort()}`), abort: async () => undefined });
    const err = await g.preflight({ namespace: 'a', name: 'b' }, [{ expr: 'up' }]).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(503);
    expect(err.message).toContain('pre-flight');
  });

  it('PromQL guards without --prometheus-url are refused at create', () => {
    const g = new PromqlGuards({ client: null, abort: async () => undefined });
    expect(() => g.checkSpec([{ expr: 'up' }])).toThrow('--prometheus-url');
    expect(() => g.checkSpec(undefined)).not.toThrow();
  });
});
