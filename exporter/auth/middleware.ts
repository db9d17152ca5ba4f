import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError } from '../../api/errors';
import { allows, neededRole, type Access } from './permissions';
import type { Principal, Role, TokenSet } from './tokens';

// The exporter's one auth module, in two steps as fastify's per-route options:
// - `authenticate` (before routing, every request): who is calling — a bearer or basic-auth token
//   (as Alertmanager's http_config and Grafana's contact points send it), or, when the exporter
//   has no tokens, an anonymous admin admitted from loopback only. Records the caller.
// - `authorize(access)` (after routing, on the matched route from the route table): may this
//   caller use this route. Never decided on the raw path, so no spelling of a path can reach a
//   route around its role check.

export interface Caller {
  /** The token's name; with X-Grafana-User (data source proxy) "user (token name)". */
  actor: string;
  role: Role;
  anonymous: boolean;
  /** The token's name (absent when anonymous). */
  token?: string;
}

const CALLER = Symbol.for('faultline.caller');

/** The caller `authenticate` recorded for this request; undefined when it did not run. */
export function callerOf(req: Request): Caller | undefined {
  return (req as unknown as Record<symbol, Caller | undefined>)[CALLER];
}

/** The actor name events record for this request. */
export function actorOf(req: Request): string {
  return callerOf(req)?.actor ?? 'anonymous';
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

/** X-Grafana-User without control characters, at most 128 characters. */
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

/** Identifies the caller of every request (401 when it cannot); `tokens` empty: anonymous on loopback only. */
export function authenticate(o: { tokens: TokenSet }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const set = (c: Caller) => {
      (req as unknown as Record<symbol, Caller>)[CALLER] = c;
      next();
    };
    if (o.tokens.size === 0) {
      if (!isLoopback(req.socket.remoteAddress)) {
        return next(ApiError.unauthorized('this exporter has no tokens configured and only admits clients on loopback'));
      }
      return set({ actor: actorName(null, req), role: 'admin', anonymous: true });
    }
    const secret = credentialOf(req.header('authorization'));
    if (secret === null) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="faultline", Basic realm="faultline"');
      return next(ApiError.unauthorized('a valid token is required (Authorization: Bearer <token>, or basic auth with the token as password)'));
    }
    const p = o.tokens.lookup(secret);
    if (!p) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="faultline", error="invalid_token"');
      return next(ApiError.unauthorized('the token is not valid'));
    }
    set({ actor: actorName(p, req), role: p.role, anonymous: false, token: p.name });
  };
}

/** The matched route's role check: 403 naming the role it needs; 401 if nobody authenticated the request. */
export function authorize(access: Access, route: string): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const c = callerOf(req);
    if (!c) return next(ApiError.unauthorized('no caller: authenticate() did not run before this route'));
    if (!allows(c.role, access)) {
      return next(ApiError.forbidden(`${c.token ? `token ${c.token}` : 'anonymous'} has role ${c.role}; ${route} needs role ${neededRole(access)}`));
    }
    next();
  };
}
