import { readFileSync } from 'node:fs';

// The proxy child's dead-man switch (same rule as the stressors' deadman.mjs): the fault's journal
// entry is gone (recovered, even by a daemon that never knew this pid), or its lease ran out more
// than GRACE_MS ago (the daemon died and nobody restarted it). Then the proxy undoes its own redirect
// and ends, so an abandoned fault does not outlive its lease for long.

const GRACE_MS = 30_000;

export function leaseAbandoned(journalFile: string, now = Date.now()): boolean {
  let text: string;
  try {
    text = readFileSync(journalFile, 'utf8');
  } catch {
    return true;
  }
  try {
    const expires = Date.parse((JSON.parse(text) as { leaseExpiresAt?: string }).leaseExpiresAt ?? '');
    return Number.isFinite(expires) && now > expires + GRACE_MS;
  } catch {
    return false; // being rewritten (rename is atomic, so this is rare): look again next time
  }
}
