import type { Static, TObject } from '@sinclair/typebox';
import { ApiError } from '../../api/errors';
import { ToolError } from '../sys/exec';
import { reachNetns } from '../sys/ip';
import { addRootQdisc, addRootQdiscSparing, deleteRootQdisc, handleFor } from '../sys/tc';
import { controlEndpointsIn } from './control-port';
import { pickInterface } from './net';
import type { KindSpec } from '../../api/kinds/types';
import { defineFault, type FaultContext, type FaultKind, type ResolvedTarget, type Support } from './types';

// Inject/recover shared by the tc kinds (tbf, netem): one root qdisc on one interface, its handle
// derived from the fault id. Recover deletes the root qdisc only while it still has that handle. In the
// daemon's own namespace that root is an htb whose default class holds the fault's qdisc and whose other
// class lets the daemon's control traffic past it, so a stop still gets its answer (control-port.ts).

export type QdiscState = { dev: string; handle: string; netnsPath?: string; netnsId?: string } & Record<string, unknown>;

/** Picks (and checks) the interface once, recording it in the resolved target that the journal keeps. */
async function precheckQdisc(target: ResolvedTarget): Promise<void> {
  target.interface = await pickInterface(target);
}

async function injectQdisc(ctx: FaultContext<unknown>, kindArgs: string[]): Promise<QdiscState> {
  const dev = ctx.target.interface ?? (await pickInterface(ctx.target));
  const t = ctx.target;
  const state: QdiscState = { dev, handle: handleFor(ctx.id), ...(t.netnsPath ? { netnsPath: t.netnsPath, netnsId: t.netnsId } : {}) };
  await ctx.save(state);
  // in the daemon's own namespace its answers to the exporter bypass the fault (control-port.ts)
  const spared = controlEndpointsIn(ctx.target.netnsPath);
  try {
    if (!spared.length) await addRootQdisc(dev, state.handle, kindArgs, ctx.target.netnsPath);
    else if (!(await addRootQdiscSparing(dev, state.handle, kindArgs, spared, ctx.target.netnsPath))) {
      ctx.log.warn({ dev }, "no sch_htb: the daemon's control port is not spared from this fault (its lease still bounds it)");
    }
  } catch (err) {
    if (err instanceof ToolError && /Exclusivity flag on|File exists|NLM_F_REPLACE needed/i.test(err.stderr)) {
      // nothing of ours was added: make recover a no-op so it cannot remove the other qdisc
      await ctx.save({ ...state, handle: 'none' });
      throw ApiError.conflict(`interface ${dev} already has a root qdisc (another fault?)`, [{ field: '/target/interface', reason: 'already has a root qdisc' }]);
    }
    if (err instanceof ToolError && /unknown|No such file/i.test(err.stderr)) {
      throw ApiError.unprocessable(`tc refused the qdisc: ${err.stderr.trim()}`);
    }
    throw err;
  }
  return state;
}

async function recoverQdisc(state: Partial<QdiscState>): Promise<void> {
  if (!state.dev || !state.handle || state.handle === 'none') return;
  if (!state.netnsPath) return deleteRootQdisc(state.dev, state.handle);
  const where = await reachNetns(state.netnsPath, state.netnsId);
  if (where) await deleteRootQdisc(state.dev, state.handle, where);
}

function qdiscSupport(cap: 'tbf' | 'netem') {
  return (caps: Record<string, { available: boolean; detail?: string }>): Support => {
    if (!caps.root?.available) return { supported: false, reason: 'needs root (CAP_NET_ADMIN)' };
    if (!caps.tc?.available) return { supported: false, reason: `tc unavailable: ${caps.tc?.detail ?? 'tc not found'}` };
    if (!caps[cap]?.available) return { supported: false, reason: caps[cap]?.detail ?? `the kernel lacks sch_${cap}` };
    return { supported: true };
  };
}

/**
 * A tc kind whole: the interface picked at precheck, one root qdisc of `qdisc` with the kind's own
 * arguments (`qdiscArgs`, from validated params only) at inject, that qdisc removed at recover.
 */
export function defineQdiscFault<P extends TObject>(spec: KindSpec<P>, qdisc: 'tbf' | 'netem', qdiscArgs: (params: Static<P>) => string[]): FaultKind<P, QdiscState> {
  return defineFault({
    spec,
    support: qdiscSupport(qdisc),
    async precheck(_params, target) {
      await precheckQdisc(target);
    },
    async inject(ctx) {
      return injectQdisc(ctx, [qdisc, ...qdiscArgs(ctx.params)]);
    },
    async recover(_ctx, state) {
      await recoverQdisc(state);
    },
  });
}
