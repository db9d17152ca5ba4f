import type { Static } from '@sinclair/typebox';
import type { Toxic } from '../../api/proxy';
import type { Endpoint } from './endpoint';
import type { HttpRules } from './http-rules';

// What the daemon sends the proxy child on its stdin (one JSON document), and what the child
// answers on stdout (one JSON line) once it listens or failed to.

export interface ProxyChildConfig {
  proxy: 'tcp' | 'http';
  listen: Endpoint;
  /** Explicit mode: every connection goes here. */
  upstream?: Endpoint;
  /** Explicit mode: check with a short connect that the upstream answers before listening. */
  probeUpstream?: boolean;
  /** Transparent mode: the redirected target port (upstream = the original destination). */
  targetPort?: number;
  toxics?: Static<typeof Toxic>[];
  http?: HttpRules;
  /** The fault's journal file: the child ends itself when it is gone or its lease long expired. */
  journalFile?: string;
  /** Transparent mode: the nft table (in the child's own namespace) the child removes when it ends itself. */
  table?: string;
  /** How long open connections may finish after SIGTERM. */
  drainMs: number;
}

export type ProxyChildReply = { ready: true; port: number } | { ready: false; code: string; message: string };

/**
 * gid the proxy child runs with: the transparent-mode nft rule skips sockets of this group
 * (`meta skgid`), so the proxy's own connections to the original destination are not redirected back
 * into it. The uid stays root; no file or user on the host needs this group.
 */
export const PROXY_GID = 64571;
