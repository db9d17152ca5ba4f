import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError } from '../../api/errors';
import { allows, neededRole, requiredAccess } from './permissions';
import type { Principal, Role, TokenSet } from './tokens';

// One middleware for every route: who is calling (bearer or basic auth, as Alertmanager's
// http_config and Grafana's contact points send it), may they do this, and what actor name
// goes into the events. Anonymous callers are admitted only from loopback and only when the
// exporter runs without tokens.

export interface AuthInfo {
  /** The token's name; with X-Grafana-User (data source proxy) "user (token name)". */
  actor: string;
  role: Role;
  anonymous: boolean;
}

const AUTH = Symbol.for('faultline.auth');

/** The caller of this request (set by authMiddleware); `anonymous` if none ran. */
export function authOf(req: Request): AuthInfo {
  return (req as unknown as Record<symbol, AuthInfo>)[AUTH] ?? { actor: 'anonymous', role: 'admin', anonymous: true };
}

export function actorOf(req: Request): string {
  return authOf(req).actor;
}

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** The secret from `Authorization: Bearer X` or `Authorization: Basic base64(user:X)`. */
export function credentialOf(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (!value) return null;
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // The password is the token; the user name is free (Grafana and Alertmanager require one).
    return colon >= 0 ? decoded.slice(colon + 1) : decoded;
  }
  return null;
}

function grafanaUser(req: Request): string | undefined {
  const u = req.header('x-grafana-user');
  if (!u) return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = u.replace(/[\x00-\x1f\x7f]/g, '').trim().slice(0, 128);
  return clean || undefined;
}

function actorName(p: Principal | null, req: Request): string {
  const base = p ? p.name : 'anonymous';
  const user = grafanaUser(req);
  return user ? `${user} (${base})` : base;
}

export interface AuthOptions {
  tokens: TokenSet;
  /** Paths anyone may read without a token (e.g. /metrics when scraped without credentials). */
  publicPaths?: string[];
}

export function authMiddleware(opts: AuthOptions): RequestHandler {
  const publicPaths = new Set(opts.publicPaths ?? []);
  return (req: Request, res: Response, next: NextFunction) => {
    // originalUrl, not req.path: the middleware may be mounted under a router prefix.
    const path = new URL(req.originalUrl, 'http://x').pathname;
    const access = requiredAccess(req.method, path);
    const set = (info: AuthInfo) => {
      (req as unknown as Record<symbol, AuthInfo>)[AUTH] = info;
    };
    const secret = credentialOf(req.header('authorization'));
    if (opts.tokens.size === 0) {
      if (!isLoopback(req.socket.remoteAddress)) {
        return next(ApiError.unauthorized('this exporter has no tokens configured and only admits clients on loopback'));
      }
      set({ actor: actorName(null, req), role: 'admin', anonymous: true });
      return next();
    }
    if (secret === null) {
      if ((req.method === 'GET' || req.method === 'HEAD') && publicPaths.has(path)) {
        set({ actor: 'anonymous', role: 'viewer', anonymous: true });
        return next();
      }
      res.setHeader('WWW-Authenticate', 'Bearer realm="faultline", Basic realm="faultline"');
      return next(ApiError.unauthorized('a valid token is required (Authorization: Bearer <token>, or basic auth with the token as password)'));
    }
    const p = opts.tokens.lookup(secret);
    if (!p) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="faultline", error="invalid_token"');
      return next(ApiError.unauthorized('the token is not valid'));
    }
    if (!allows(p.role, access)) {
      return next(ApiError.forbidden(`token ${p.name} has role ${p.role}; ${req.method} ${path} needs role ${neededRole(access)}`));
    }
    set({ actor: actorName(p, req), role: p.role, anonymous: false });
    next();
  };
}
