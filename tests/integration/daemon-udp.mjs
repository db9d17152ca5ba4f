// UDP traffic between two test namespaces, for the loss and partition tests and the benchmark.
//   node daemon-udp.mjs recv HOST PORT DRAIN_MS MAX_MS → prints "ready"; on SIGTERM, {"count":N} once DRAIN_MS pass without packets (or at MAX_MS)
//   node daemon-udp.mjs send HOST PORT COUNT           → sends COUNT small datagrams, paced so no socket buffer overflows
import dgram from 'node:dgram';

const [mode, host, portArg, a, b] = process.argv.slice(2);
const port = Number(portArg);

if (mode === 'recv') {
  // Counts until SIGTERM (sent once the sender is done), then drains what is still queued: a packet
  // counts as lost only if the kernel dropped it, never because this process was slow to be scheduled.
  const drainIdle = Number(a);
  const max = Number(b);
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let count = 0;
  let draining;
  const finish = () => {
    process.stdout.write(JSON.stringify({ count }) + '\n');
    process.exit(0);
  };
  const drain = () => {
    clearTimeout(draining);
    draining = setTimeout(finish, drainIdle);
  };
  sock.on('message', () => {
    count++;
    if (draining) drain();
  });
  process.on('SIGTERM', drain);
  sock.bind(port, host, () => {
    process.stdout.write('ready\n');
    setTimeout(finish, max);
  });
} else if (mode === 'send') {
  const total = Number(a);
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const payload = Buffer.alloc(64, 0x61);
  let sent = 0;
  const batch = () => {
    for (let i = 0; i < 10 && sent < total; i++, sent++) sock.send(payload, port, host);
    if (sent < total) setTimeout(batch, 2);
    else setTimeout(() => {
      process.stdout.write(JSON.stringify({ sent }) + '\n');
      sock.close();
    }, 50);
  };
  batch();
} else {
  console.error('usage: daemon-udp.mjs recv|send ...');
  process.exit(2);
}
