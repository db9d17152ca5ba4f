import path from 'node:path';
import spec from '../../api/kinds/dns-fault';
import { ApiError } from '../../api/errors';
import type { DnsChildConfig } from '../dns/child';
import { dnsRedirectScript } from '../dns/redirect';
import { PROXY_DIR } from '../proxy/paths';
import { startProxyChild, stopProxyChild } from '../proxy/supervisor';
import { redirectTableName } from '../proxy/transparent';
import { ToolError } from '../sys/exec';
import { deleteTable, loadScript } from '../sys/nft';
import { reachNetns } from '../sys/ip';
import { defineFault } from './types';

// Chaos Mesh's DNSChaos on one network namespace: a responder process (daemon/dns/) for the fault's
// lifetime, then an nft table of the fault's own that redirects the namespace's DNS to it. Journal
// first (the responder's pid + start time as soon as it exists, the table name before it is loaded);
// recover removes the table first (queries go straight to their resolvers again), then stops the responder.

const DNS_CHILD_ENTRY = path.join(PROXY_DIR, '..', 'dns', 'child.ts');

type DnsState = { pid?: number; startTime?: number; port?: number; table?: string; netnsPath?: string; netnsId?: string };

async function recoverDns(state: Partial<DnsState>): Promise<void> {
  if (state.table) {
    const where = state.netnsPath ? await reachNetns(state.netnsPath, state.netnsId) : undefined;
    // A namespace that is gone took the table with it.
    if (!state.netnsPath || where) await deleteTable(state.table, where);
  }
  await stopProxyChild(state, 0);
}

export default defineFault({
  spec,
  support(caps) {
    if (!caps.root?.available) return { supported: false, reason: 'needs root (CAP_NET_ADMIN) for the nft redirect' };
    if (!caps.nft?.available) return { supported: false, reason: `nftables unavailable: ${caps.nft?.detail ?? 'nft not found'}` };
    return { supported: true };
  },
  async precheck(params) {
    if (params.rcode !== undefined && params.action !== 'error') {
      throw ApiError.invalid('invalid request: /params/rcode only applies to action error', [{ field: '/params/rcode', reason: 'only applies to action error' }]);
    }
  },
  async inject(ctx) {
    const t = ctx.target;
    const table = redirectTableName(ctx.id);
    const state: DnsState = t.netnsPath ? { netnsPath: t.netnsPath, netnsId: t.netnsId } : {};
    const cfg: DnsChildConfig = {
      rules: { action: ctx.params.action, patterns: ctx.params.patterns, rcode: ctx.params.rcode, percent: ctx.params.percent },
      table,
      ...(ctx.journalFile ? { journalFile: ctx.journalFile } : {}),
    };
    try {
      const { port } = await startProxyChild(cfg, {
        entry: DNS_CHILD_ENTRY,
        netnsPath: t.netnsPath,
        signal: ctx.signal,
        onSpawn: async (ref) => {
          Object.assign(state, ref);
          await ctx.save(state);
        },
      });
      state.port = port;
      state.table = table;
      await ctx.save(state);
      await loadScript(dnsRedirectScript(table, port), t.netnsPath);
    } catch (err) {
      const exists = err instanceof ToolError && /File exists/i.test(err.stderr);
      // Never delete a table that was there before us: it is someone else's.
      await recoverDns(exists ? { ...state, table: undefined } : state);
      if (exists) throw ApiError.conflict(`nft table ${table} already exists in the target network namespace`);
      throw err;
    }
    ctx.log.info({ table, port: state.port, responderPid: state.pid }, 'dns responder redirecting');
    return state;
  },
  async recover(_ctx, state) {
    await recoverDns(state);
  },
});
