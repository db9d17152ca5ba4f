import { ApiError } from '../../api/errors';
import { proxyModeProblems } from '../../api/proxy';
import type { FaultContext, ResolvedTarget } from '../faults/types';
import type { ProxyChildConfig } from './config';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint';
import { probeConnect, probeListen } from './probe';
import { startProxyChild, stopProxyChild } from './supervisor';
import { addRedirect, redirectTableName, removeRedirect } from './transparent';

// Inject, recover and checks shared by tcp-fault and http-fault: pick the mode, start the proxy
// child (journaling its pid + start time first), and in transparent mode add the redirect table.
// Recover removes the redirect first (new connections go direct), then drains and stops the child.

/** How long open connections may finish once a proxy fault is recovered. */
export const DRAIN_MS = 2000;

export interface ProxyModeParams {
  listen?: string;
  upstream?: string;
  port?: number;
}

export type ProxyState = {
  mode?: 'explicit' | 'transparent';
  pid?: number;
  startTime?: number;
  /** Explicit mode: where the proxy really listens (port 0 resolved). */
  listen?: string;
  proxyPort?: number;
  table?: string;
  netnsPath?: string;
} & Record<string, unknown>;

type Mode = { mode: 'explicit'; listen: Endpoint; upstream: Endpoint } | { mode: 'transparent'; port: number };

/** Explicit (`listen` + `upstream`) or transparent (`port`); anything else is a 400 naming the field (api/proxy.ts). */
export function proxyMode(p: ProxyModeParams): Mode {
  const problems = proxyModeProblems(p).map((d) => ({ field: `/params${d.field}`, reason: d.reason }));
  if (problems.length) throw ApiError.invalid(`invalid request: ${problems[0].field} ${problems[0].reason}`, problems);
  if (p.port !== undefined) return { mode: 'transparent', port: p.port };
  return { mode: 'explicit', listen: parseEndpoint(p.listen!), upstream: parseEndpoint(p.upstream!) };
}

/** Before anything is journaled: mode, and for a proxy in the daemon's own namespace, the listen address and the upstream. */
export async function precheckProxy(p: ProxyModeParams, target: ResolvedTarget): Promise<void> {
  const mode = proxyMode(p);
  if (mode.mode !== 'explicit' || target.netnsPath) return;
  if (mode.listen.port !== 0) {
    const code = await probeListen(mode.listen);
    if (code === 'EADDRINUSE') {
      throw ApiError.conflict(`cannot listen on ${p.listen}: address already in use`, [{ field: '/params/listen', reason: 'address already in use' }]);
    }
    if (code) throw ApiError.unprocessable(`cannot listen on ${p.listen}: ${code}`, [{ field: '/params/listen', reason: code }]);
  }
  await checkUpstream(mode.upstream, p.upstream ?? '');
}

async function checkUpstream(e: Endpoint, text: string): Promise<void> {
  const reason = await probeConnect(e);
  if (reason) throw ApiError.unprocessable(`upstream ${text} is unreachable: ${reason}`, [{ field: '/params/upstream', reason: `unreachable (${reason})` }]);
}

export async function injectProxy(
  ctx: FaultContext<ProxyModeParams>,
  proxy: Pick<ProxyChildConfig, 'proxy' | 'toxics' | 'http'>,
): Promise<ProxyState> {
  const mode = proxyMode(ctx.params);
  const netnsPath = ctx.target.netnsPath;
  const state: ProxyState = { mode: mode.mode, ...(netnsPath ? { netnsPath } : {}) };
  const cfg: ProxyChildConfig = {
    ...proxy,
    listen: mode.mode === 'explicit' ? mode.listen : { host: '::', port: 0 },
    ...(mode.mode === 'explicit' ? { upstream: mode.upstream, probeUpstream: true } : { targetPort: mode.port, table: redirectTableName(ctx.id) }),
    ...(ctx.journalFile ? { journalFile: ctx.journalFile } : {}),
    drainMs: DRAIN_MS,
  };
  const { port } = await startProxyChild(cfg, {
    netnsPath,
    signal: ctx.signal,
    onSpawn: async (ref) => {
      Object.assign(state, ref);
      await ctx.save(state);
    },
  });
  state.proxyPort = port;
  if (mode.mode === 'explicit') {
    state.listen = formatEndpoint({ host: mode.listen.host, port });
    ctx.log.info({ listen: state.listen, upstream: ctx.params.upstream, proxyPid: state.pid }, 'fault proxy listening');
    return state;
  }
  state.table = redirectTableName(ctx.id);
  try {
    await ctx.save(state);
    await addRedirect(state.table, mode.port, port, netnsPath);
  } catch (err) {
    await recoverProxy(state);
    throw err;
  }
  ctx.log.info({ port: mode.port, proxyPort: port, table: state.table, proxyPid: state.pid }, 'fault proxy redirecting');
  return state;
}

/** Idempotent: works from a partial state (crash between spawn and redirect) and when all is gone. */
export async function recoverProxy(state: Partial<ProxyState>): Promise<void> {
  if (state.table) await removeRedirect(state.table, state.netnsPath);
  await stopProxyChild(state, DRAIN_MS);
}
