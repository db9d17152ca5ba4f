import type { Static, TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { ApiError } from '../../api/errors';
import { kindProblems, type KindSpec } from '../../api/kinds/types';
import type { ResolvedProcess } from '../../api/daemon';

/**
 * The contract every fault kind implements (see README.md in this folder for the rules).
 *
 * A kind file exports `default defineFault({spec, inject, recover})`. `spec` comes from api/kinds
 * (the wire schema); `inject` applies the fault and returns the state needed to undo it;
 * `recover` undoes it from that state alone, so it also works in a fresh daemon after a crash.
 */

/** A target after the daemon resolved it: what the kind acts on, on this host. */
export interface ResolvedTarget {
  /** Processes, each pinned with its start time (never pid 1, the daemon or a protected process). */
  processes: ResolvedProcess[];
  /** Path of the network namespace file (e.g. /run/netns/x or /proc/123/ns/net); undefined = the host's. */
  netnsPath?: string;
  /** The netns as the user named it (for `ip -n NAME` style commands); undefined when given by path. */
  netnsName?: string;
  /** Identity of the netns (readlink of its file, "net:[4026532...]"), to find it again if its path changed. */
  netnsId?: string;
  /** cgroup path relative to the hierarchy root. */
  cgroup?: string;
  /** Network interface to act on (tc kinds); the kind may choose a default. */
  interface?: string;
}

export interface FaultContext<P> {
  /** The fault id: names the nft table, tc handle, temp files. Already validated as a DNS label. */
  id: string;
  params: P;
  target: ResolvedTarget;
  log: Logger;
  /**
   * Persists kind state to the journal (fsync + rename) before the next system change.
   * Call it with whatever undoing needs *before* creating that thing (e.g. child pids right after spawn,
   * the table name before `nft add table`), so a crash in between still leaves a record.
   */
  save(state: Record<string, unknown>): Promise<void>;
  /** Aborted when the fault is deleted or its lease runs out while inject is still running. */
  signal: AbortSignal;
  /**
   * The fault's journal file. Long-running helpers (stressors) may watch it and end themselves when it
   * disappears or its `leaseExpiresAt` is long past: a dead-man switch that works even without the daemon.
   */
  journalFile?: string;
}

export interface Support {
  supported: boolean;
  reason?: string;
}

export interface FaultKind<P extends TObject = TObject, S extends Record<string, unknown> = Record<string, unknown>> {
  spec: KindSpec<P>;
  /**
   * Checks that go beyond the schema and need the host (path exists, percent vs reserve, ...).
   * Throws ApiError (400/422) naming the field; runs before anything is journaled.
   */
  precheck?(params: Static<P>, target: ResolvedTarget): Promise<void>;
  /** Applies the fault; returns the state that `recover` needs (also saved to the journal). */
  inject(ctx: FaultContext<Static<P>>): Promise<S>;
  /**
   * Undoes the fault from `state` (possibly partial: whatever `save` recorded before a crash).
   * Idempotent: recovering twice, or recovering something already gone, succeeds.
   */
  recover(ctx: FaultContext<Static<P>>, state: Partial<S>): Promise<void>;
  /**
   * For a kind whose recover only signals processes (process-pause): the same revert, synchronous, from
   * what the journal holds (no child process, no file written). A batch of recoveries (POST /v1/recover:
   * an alert aborting everything on a node) runs it for each active fault of such a kind in one pass,
   * before any other work of the batch (another fault's nft table or fork, the journal, logs), and then
   * does not call `recover` for those faults. Must not throw for a process that is gone.
   */
  recoverNow?(target: ResolvedTarget, state: Partial<S>): void;
  /**
   * Network kinds with `peers`: replaces the peers of the running fault in place, atomically (the exporter
   * re-resolves a peer selector while the fault runs). Returns the new state; `params` stay as created, so
   * an identical retry of the creation still matches.
   */
  setPeers?(ctx: FaultContext<Static<P>>, state: S, peers: string[]): Promise<S>;
  /**
   * Kinds that hold their target processes in a way a second fault would undo (process-pause: the first
   * fault to end resumes the process while the other still counts it paused) name a class here. A new
   * fault whose processes overlap a live fault of the same class is refused with 409 naming that fault.
   */
  holdsProcesses?: string;
  /** Whether this host can run the kind, from the capabilities probed at start. */
  support?(caps: Record<string, { available: boolean; detail?: string }>): Support;
}

export function defineFault<P extends TObject, S extends Record<string, unknown>>(kind: FaultKind<P, S>): FaultKind<P, S> {
  return kind;
}

/** The kind's own `check` (api/kinds: the one the exporter runs at create), as a 400 naming /params/... */
export function checkKindParams(spec: KindSpec, params: unknown): void {
  const problems = kindProblems(spec, params, '/params');
  if (problems.length) throw ApiError.invalid(`invalid request: ${problems[0].field} ${problems[0].reason}`, problems);
}
