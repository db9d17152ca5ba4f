// disk-io-stress worker: synced writes and/or reads of a <bytes> file in <dir>.
// usage: node io.mjs <dir> <bytes> <read|write|mixed> [journalFile]
import { closeSync, fdatasyncSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { deadmanExpired } from './deadman.mjs';

const [dir, bytesArg, mode = 'write', journalFile] = process.argv.slice(2);
const size = Math.max(1 << 20, Math.floor(Number(bytesArg) || 0));
const CHUNK = 1 << 20;
const file = path.join(dir, `worker-${process.pid}`);
const buf = Buffer.alloc(CHUNK, 0x5a);

const fd = openSync(file, 'w+');
let lastCheck = Date.now();
let pos = 0;
let writes = mode !== 'read';

function fillOnce() {
  for (let off = 0; off < size; off += CHUNK) writeSync(fd, buf, 0, Math.min(CHUNK, size - off), off);
  fdatasyncSync(fd);
}
if (mode === 'read') fillOnce();

for (;;) {
  const len = Math.min(CHUNK, size - pos);
  if (writes) {
    writeSync(fd, buf, 0, len, pos);
    fdatasyncSync(fd);
  } else {
    readSync(fd, buf, 0, len, pos);
  }
  pos += len;
  if (pos >= size) {
    pos = 0;
    if (mode === 'mixed') writes = !writes;
  }
  if (Date.now() - lastCheck > 1000) {
    lastCheck = Date.now();
    if (deadmanExpired(journalFile)) {
      closeSync(fd);
      process.exit(0);
    }
  }
}
