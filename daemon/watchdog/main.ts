import { BYE, READY } from './protocol';

// The watchdog process (started by spawn.ts, one per daemon, in a session of its own). It holds the
// read end of a pipe whose only writer is the daemon: the kernel closes that end when the daemon dies
// for whatever reason (kill -9, OOM, a crash, the embedding `faultline start` killed), and the EOF wakes
// this process at once, with no polling. Then it reverts every fault in the journal with the daemon's
// own restart path (recover.ts: FaultManager.restore, the kinds' recover code) and exits. A daemon that
// stops on purpose writes BYE first: then the watchdog exits and leaves the journal to the daemon.
//
// This file loads nothing heavy, so the pipe is watched from the first milliseconds; the recover code
// loads right after (in parallel with the daemon's own start) and READY says it has. A daemon that dies
// before that is still reverted, as soon as the load completes.
//
// argv: <state-dir> <daemon pid>. Logs JSON lines to stderr (the daemon points it at watchdog.log).

const [stateDir, daemonPidText] = process.argv.slice(2);
const daemonPid = Number(daemonPidText);
process.title = 'faultline-watchdog';

// Ours is a session of its own; a stray SIGHUP/SIGINT/SIGPIPE is still no reason to stop watching.
for (const sig of ['SIGHUP', 'SIGINT', 'SIGPIPE'] as const) process.on(sig, () => undefined);
process.stdout.on('error', () => undefined);

const recoverCode = import('./recover').then((m) => m.prepare(stateDir));
let said = '';
let started = false;

function daemonGone(): void {
  if (started) return;
  started = true;
  const noticedAt = Date.now();
  void recoverCode
    .then((recover) => recover(daemonPid, noticedAt))
    .then(
      (left) => process.exit(left ? 1 : 0),
      (err: unknown) => {
        process.stderr.write(JSON.stringify({ level: 50, time: Date.now(), msg: 'watchdog failed', err: String(err) }) + '\n');
        process.exit(1);
      },
    );
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  said += chunk;
});
process.stdin.on('error', daemonGone);
process.stdin.on('end', () => {
  if (said.includes(BYE)) process.exit(0);
  daemonGone();
});
void recoverCode.then(() => process.stdout.write(READY));
