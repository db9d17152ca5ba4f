// The demo's backend as its own process (plain JavaScript: starts in milliseconds, no tsx).
// Its own pid and port make it a fault target of its own: pause or kill it, delay or drop the
// traffic to its port, and the demo's /api/checkout shows latency, 502 and 504.
//   node backend-server.mjs HOST PORT
// Prints one JSON line with its URL once listening; exits when its parent closes stdin.
import http from 'node:http';

process.title = 'faultline-demo-backend';
const [host = '127.0.0.1', portText = '0'] = process.argv.slice(2);
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
server.on('error', (err) => {
  process.stderr.write(`demo backend: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(portText), host, () => {
  const a = server.address();
  const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  process.stdout.write(`${JSON.stringify({ msg: 'demo backend listening', url: `http://${shown}:${a.port}`, pid: process.pid })}\n`);
});
// The demo holds our stdin: when it goes away (even by SIGKILL), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => server.close(() => process.exit(0)));
