// SSE subscribers for bench/exporter.ts, in their own process so that reading 100 streams does not
// compete with the exporter's event loop. Usage: node bench/sse-subscribers.mjs URL COUNT.
// Each event's message holds its emit time (performance.timeOrigin + now(), ms); on "done" on stdin
// this prints the delivery delays as JSON.
import http from 'node:http';

const [url, count] = [process.argv[2], Number(process.argv[3])];
const delays = [];
let connected = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: count + 1 });
const requests = [];
for (let i = 0; i < count; i++) {
  const req = http.get(url, { agent }, (res) => {
    connected++;
    if (connected === count) process.stdout.write('ready\n');
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk) => {
      const at = performance.timeOrigin + performance.now();
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const m = frame.indexOf('"message":"t=');
        if (m >= 0) delays.push(at - Number(frame.slice(m + 13, frame.indexOf('"', m + 13))));
      }
    });
  });
  req.on('error', () => {});
  requests.push(req);
}
process.stdin.on('data', () => {
  for (const r of requests) r.destroy();
  // exit only once the (large) line is flushed into the pipe
  process.stdout.write(JSON.stringify(delays) + '\n', () => process.exit(0));
});
