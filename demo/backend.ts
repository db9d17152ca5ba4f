import http from 'node:http';
import type { AddressInfo } from 'node:net';

// The demo's backend: a second HTTP server that /api/checkout calls over TCP. Keeping it a real
// socket hop (its own port, or another host with --backend) is what makes network faults on that
// path — delay, loss, partition, a paused or killed backend process — show up in the demo's
// latency and error panels.

export interface Backend {
  url: string;
  close(): Promise<void>;
}

export async function startBackend(host: string, port: number): Promise<Backend> {
  let stock = 1000;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stock') {
      stock = stock > 0 ? stock - 1 : 1000;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ item: 'widget', stock }));
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } }));
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
