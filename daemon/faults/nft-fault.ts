import type { Static, TObject } from '@sinclair/typebox';
import { ApiError } from '../../api/errors';
import { deleteTable, loadScript } from '../sys/nft';
import { ToolError } from '../sys/exec';
import { reachNetns } from '../sys/ip';
import { buildTable, tableName, type TrafficMatch } from './nft-rules';
import type { KindSpec } from '../../api/kinds/types';
import { controlEndpointsIn } from './control-port';
import { checkPeers } from './net';
import { checkPeerSides } from './peer';
import { checkKindParams, defineFault, type FaultContext, type FaultKind, type Support } from './types';

// Inject/recover shared by the nft kinds (loss, partition): save the table name, load the table,
// and on recover delete exactly that table in exactly that namespace.

export type NftState = { table: string; netnsPath?: string; netnsId?: string } & Record<string, unknown>;

async function injectTable(ctx: FaultContext<unknown>, match: TrafficMatch, verdict: string): Promise<NftState> {
  const t = ctx.target;
  const state: NftState = { table: tableName(ctx.id), ...(t.netnsPath ? { netnsPath: t.netnsPath, netnsId: t.netnsId } : {}) };
  await ctx.save(state);
  try {
    await loadScript(buildTable(state.table, match, verdict), ctx.target.netnsPath);
  } catch (err) {
    if (err instanceof ToolError && /File exists/i.test(err.stderr)) {
      throw ApiError.conflict(`nft table ${state.table} already exists in the target network namespace`);
    }
    throw err;
  }
  return state;
}

async function recoverTable(state: Partial<NftState>): Promise<void> {
  if (!state.table) return;
  if (!state.netnsPath) return deleteTable(state.table);
  const where = await reachNetns(state.netnsPath, state.netnsId);
  if (where) await deleteTable(state.table, where); // else the namespace, and the table with it, is gone
}

function nftSupport(caps: Record<string, { available: boolean; detail?: string }>): Support {
  if (!caps.root?.available) return { supported: false, reason: 'needs root (CAP_NET_ADMIN)' };
  if (!caps.nft?.available) return { supported: false, reason: `nftables unavailable: ${caps.nft?.detail ?? 'nft not found'}` };
  return { supported: true };
}

/** What the nft kinds' params have in common: which packets (api/kinds network-loss, network-partition). */
type TrafficParams = Omit<TrafficMatch, 'interface'> & { peer?: unknown };

/**
 * An nft kind whole: peers and ports checked at precheck, one table of its own that sends the matching
 * packets to `verdict(params)` at inject, that table deleted at recover.
 */
export function defineNftFault<P extends TObject>(spec: KindSpec<P>, verdict: (params: Static<P>) => string, opts: { peersRequired?: boolean } = {}): FaultKind<P, NftState> {
  return defineFault({
    spec,
    support: nftSupport,
    async precheck(params) {
      const p = params as TrafficParams;
      checkPeerSides(p, !!opts.peersRequired);
      checkPeers(p.peers);
      checkKindParams(spec, params); // icmp with ports (api/kinds: what the exporter checks at create)
    },
    async inject(ctx) {
      const p = ctx.params as TrafficParams;
      checkPeerSides(p, !!opts.peersRequired);
      const exempt = controlEndpointsIn(ctx.target.netnsPath);
      return injectTable(ctx, { direction: p.direction, peers: p.peers, ports: p.ports, protocol: p.protocol, interface: ctx.target.interface, exempt }, verdict(ctx.params));
    },
    async recover(_ctx, state) {
      await recoverTable(state);
    },
    async setPeers(ctx, state, peers) {
      checkPeers(peers, '/peers');
      const p = ctx.params as TrafficParams;
      const exempt = controlEndpointsIn(ctx.target.netnsPath);
      const match: TrafficMatch = { direction: p.direction, peers, ports: p.ports, protocol: p.protocol, interface: ctx.target.interface, exempt };
      const where = state.netnsPath ? await reachNetns(state.netnsPath, state.netnsId) : undefined;
      if (state.netnsPath && !where) throw ApiError.conflict('the target network namespace is gone');
      // One nft transaction: the rules are swapped with no moment unprotected; a table that is gone stays gone.
      await loadScript(`flush table inet ${state.table}\n${buildTable(state.table, match, verdict(ctx.params))}`, where);
      return { ...state, peers };
    },
  });
}
