// Shared by the stressor scripts: a stressor ends itself when its fault's journal entry is gone
// (the fault was recovered, even by a daemon that never knew this pid) or when the fault's lease
// ran out long ago (the daemon died and nobody restarted it). Plain JS: spawned with process.execPath.
import { readFileSync } from 'node:fs';

const GRACE_MS = 30_000;

export function deadmanExpired(journalFile) {
  if (!journalFile) return false;
  let text;
  try {
    text = readFileSync(journalFile, 'utf8');
  } catch {
    return true;
  }
  try {
    const entry = JSON.parse(text);
    const expires = Date.parse(entry.leaseExpiresAt);
    return Number.isFinite(expires) && Date.now() > expires + GRACE_MS;
  } catch {
    return false; // being rewritten (rename is atomic, so this is rare): look again next time
  }
}

/** Checks every second; exits the process when the fault is gone. */
export function watchDeadman(journalFile) {
  if (!journalFile) return;
  const timer = setInterval(() => {
    if (deadmanExpired(journalFile)) process.exit(0);
  }, 1000);
  timer.unref?.();
}
