// memory-stress worker: allocates <bytes> and writes every page so the RSS really grows, then holds it.
// usage: node memory.mjs <bytes> [journalFile]
import { watchDeadman } from './deadman.mjs';

const bytes = Math.max(0, Math.floor(Number(process.argv[2]) || 0));
watchDeadman(process.argv[3]);

const CHUNK = 64 * 1024 * 1024;
const held = [];
for (let left = bytes; left > 0; left -= CHUNK) {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
  buf.fill(0x5a); // touch every page: allocation alone maps nothing
  held.push(buf);
}
// keep the memory referenced and the process alive
setInterval(() => held.length, 60_000);
