import type { Static, TObject } from '@sinclair/typebox';
import { ApiError } from '../../api/errors';
import { run, ToolError } from '../sys/exec';
import { reachNetns } from '../sys/ip';
import { addRootQdisc, addRootQdiscSparing, deleteRootQdisc, handleFor, sparedClassLines } from '../sys/tc';
import { controlEndpointsIn } from './control-port';
import { checkPeers, pickInterface, splitFamilies } from './net';
import { checkPeerSides } from './peer';
import type { KindSpec } from '../../api/kinds/types';
import { defineFault, type FaultContext, type FaultKind, type ResolvedTarget, type Support } from './types';

// Inject/recover shared by the tc kinds (tbf, netem): one root qdisc on one interface, its handle
// derived from the fault id. Recover deletes the root qdisc only while it still has that handle.
//
// With `peers` (the other side, Chaos Mesh NetworkChaos `target:` / `externalTargets` with direction `to`)
// only egress toward those addresses is shaped, as Chaos Mesh does with its own tc tree: the root is an htb
// qdisc of the fault's handle with `default 0` (what no filter classifies is sent straight on, unshaped),
// one class whose leaf is the kind's qdisc, and u32 filters that send packets to a peer into that class.
// (htb, not prio: kernels built without sch_prio are common, this machine's among them.) Deleting the
// root takes all of it.
//
// In the daemon's own namespace its control traffic goes past the fault, so a stop still gets its answer
// (control-port.ts): without peers the root is an htb whose default class holds the fault's qdisc and
// whose class :1 takes the daemon's answers; with peers class :1 and its filters (priorities 1 and 2) are
// added to the peers' tree, whose own filters then use priorities 3/4 or 5/6.

export type QdiscState = {
  dev: string;
  handle: string;
  netnsPath?: string;
  netnsId?: string;
  /** With peers: the shaped band's qdisc handle, the peers, and the filter priorities now in use. */
  child?: string;
  peers?: string[];
  prio?: number;
} & Record<string, unknown>;

/** The two pairs of filter priorities peers' filters alternate between (1 and 2 are the control port's). */
const PEER_PRIOS = [3, 5] as const;

/** The htb class (minor) peers' packets go to; its own rate is far above any link, so only the leaf shapes. */
const PEER_BAND = 4;
const CLASS_RATE = '10gbit';

/** "10.0.0.1" → "10.0.0.1/32": u32 wants a prefix. */
const withPrefix = (p: string, v6: boolean) => (p.includes('/') ? p : `${p}/${v6 ? 128 : 32}`);

/** Adds the u32 filters sending `peers` to the shaped band, IPv4 at priority `prio`, IPv6 at `prio + 1`. */
async function addPeerFilters(dev: string, handle: string, peers: readonly string[], prio: number, netnsPath?: string): Promise<void> {
  const { v4, v6 } = splitFamilies(peers);
  const flow = `${handle}${PEER_BAND}`;
  for (const p of v4) await run('tc', ['filter', 'add', 'dev', dev, 'parent', handle, 'protocol', 'ip', 'prio', String(prio), 'u32', 'match', 'ip', 'dst', withPrefix(p, false), 'flowid', flow], { netnsPath });
  for (const p of v6) await run('tc', ['filter', 'add', 'dev', dev, 'parent', handle, 'protocol', 'ipv6', 'prio', String(prio + 1), 'u32', 'match', 'ip6', 'dst', withPrefix(p, true), 'flowid', flow], { netnsPath });
}

async function deletePeerFilters(dev: string, handle: string, prio: number, netnsPath?: string): Promise<void> {
  for (const [proto, pr] of [['ip', prio], ['ipv6', prio + 1]] as const) {
    try {
      await run('tc', ['filter', 'del', 'dev', dev, 'parent', handle, 'protocol', proto, 'prio', String(pr)], { netnsPath });
    } catch (err) {
      // none of that family was added
      if (!(err instanceof ToolError && /No such file|Cannot find|not found|Invalid/i.test(err.stderr))) throw err;
    }
  }
}

/** Picks (and checks) the interface once, recording it in the resolved target that the journal keeps. */
async function precheckQdisc(target: ResolvedTarget): Promise<void> {
  target.interface = await pickInterface(target);
}

async function injectQdisc(ctx: FaultContext<unknown>, kindArgs: string[], peers?: readonly string[]): Promise<QdiscState> {
  const dev = ctx.target.interface ?? (await pickInterface(ctx.target));
  const t = ctx.target;
  const state: QdiscState = { dev, handle: handleFor(ctx.id), ...(t.netnsPath ? { netnsPath: t.netnsPath, netnsId: t.netnsId } : {}) };
  await ctx.save(state);
  // in the daemon's own namespace its answers to the exporter bypass the fault (control-port.ts)
  const spared = controlEndpointsIn(ctx.target.netnsPath);
  try {
    if (!peers?.length) {
      if (!spared.length) await addRootQdisc(dev, state.handle, kindArgs, ctx.target.netnsPath);
      else if (!(await addRootQdiscSparing(dev, state.handle, kindArgs, spared, ctx.target.netnsPath))) {
        ctx.log.warn({ dev }, "no sch_htb: the daemon's control port is not spared from this fault (its lease still bounds it)");
      }
    } else {
      // the root first (journaled handle: recover removes whatever of it got built), then class, leaf, filters
      await addRootQdisc(dev, state.handle, ['htb', 'default', '0'], ctx.target.netnsPath);
      const band = `${state.handle}${PEER_BAND}`;
      await run('tc', ['class', 'add', 'dev', dev, 'parent', state.handle, 'classid', band, 'htb', 'rate', CLASS_RATE], { netnsPath: ctx.target.netnsPath });
      state.child = handleFor(`${ctx.id}/peers`);
      if (state.child === state.handle) state.child = handleFor(`${ctx.id}/peers/2`);
      await run('tc', ['qdisc', 'add', 'dev', dev, 'parent', band, 'handle', state.child, ...kindArgs], { netnsPath: ctx.target.netnsPath });
      if (spared.length) {
        const lines = sparedClassLines(dev, state.handle.replace(/:$/, ''), spared);
        await run('tc', ['-batch', '-'], { input: lines.join('\n') + '\n', netnsPath: ctx.target.netnsPath });
      }
      Object.assign(state, { peers: [...peers], prio: PEER_PRIOS[0] });
      await addPeerFilters(dev, state.handle, peers, PEER_PRIOS[0], ctx.target.netnsPath);
      await ctx.save(state);
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

type PeerParams = { peers?: string[]; peer?: unknown };

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
export function defineQdiscFault<P extends TObject>(
  spec: KindSpec<P>,
  qdisc: 'tbf' | 'netem',
  qdiscArgs: (params: Static<P>) => string[],
  /** Checks of the params the schema cannot say (400 naming the field). */
  checkParams?: (params: Static<P>) => void,
): FaultKind<P, QdiscState> {
  return defineFault({
    spec,
    support: qdiscSupport(qdisc),
    async precheck(params, target) {
      checkParams?.(params);
      const p = params as PeerParams;
      checkPeerSides(p, false);
      checkPeers(p.peers);
      await precheckQdisc(target);
    },
    async inject(ctx) {
      const p = ctx.params as PeerParams;
      checkPeerSides(p, false);
      return injectQdisc(ctx, [qdisc, ...qdiscArgs(ctx.params)], p.peers);
    },
    async recover(_ctx, state) {
      await recoverQdisc(state);
    },
    /**
     * A peer selector re-resolved: the new filters are added at the other pair of priorities before the
     * old ones go, so packets to a peer in both sets are shaped throughout. Only a fault injected with
     * peers has the band to send them to (one without shapes everything already).
     */
    async setPeers(_ctx, state, peers) {
      checkPeers(peers, '/peers');
      if (!state.child || !state.prio) throw ApiError.unprocessable('this fault was injected without peers: it shapes all egress', [{ field: '/peers', reason: 'the fault has no peers to change' }]);
      const where = state.netnsPath ? await reachNetns(state.netnsPath, state.netnsId) : undefined;
      if (state.netnsPath && !where) throw ApiError.conflict('the target network namespace is gone');
      const next = state.prio === PEER_PRIOS[0] ? PEER_PRIOS[1] : PEER_PRIOS[0];
      await addPeerFilters(state.dev, state.handle, peers, next, where);
      await deletePeerFilters(state.dev, state.handle, state.prio, where);
      return { ...state, peers: [...peers], prio: next };
    },
  });
}
