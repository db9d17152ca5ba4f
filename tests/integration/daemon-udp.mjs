// UDP traffic between two test namespaces, for the loss and partition tests and the benchmark.
//   node daemon-udp.mjs recv HOST PORT IDLE_MS MAX_MS  → prints "ready", then {"count":N} after IDLE_MS without packets (or MAX_MS)
//   node daemon-udp.mjs send HOST PORT COUNT           → sends COUNT small datagrams, paced so no socket buffer overflows
import dgram from 'node:dgram';

const [mode, host, portArg, a, b] = process.argv.slice(2);
const port = Number(portArg);

if (mode === 'recv') {
  const idle = Number(a);
  const max = Number(b);
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let count = 0;
  let timer;
  const finish = () => {
    process.stdout.write(JSON.stringify({ count }) + '\n');
    process.exit(0);
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(finish, idle);
  };
  sock.on('message', () => {
    count++;
    arm();
  });
  sock.bind(port, host, () => {
    process.stdout.write('ready\n');
    arm();
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
