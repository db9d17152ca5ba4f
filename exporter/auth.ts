import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError } from '../api/errors';

// The one auth slot every route goes through. This default admits anonymous callers from
// loopback only; token auth with roles (exporter/auth/) replaces it via createApp({auth}).
// Both record the caller under the same symbol, so `actorOf(req)` works with either.

const AUTH = Symbol.for('faultline.auth');

export interface Caller {
  actor: string;
  role: string;
  anonymous: boolean;
}

export function callerOf(req: Request): Caller {
  return (req as unknown as Record<symbol, Caller>)[AUTH] ?? { actor: 'anonymous', role: 'admin', anonymous: true };
}

export function actorOf(req: Request): string {
  return callerOf(req).actor;
}

function loopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || /^127\./.test(a);
}

export function loopbackOnly(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!loopback(req.socket.remoteAddress)) {
      return next(ApiError.unauthorized('this exporter has no tokens configured and only admits clients on loopback'));
    }
    const grafanaUser = req.header('x-grafana-user')?.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 128);
    (req as unknown as Record<symbol, Caller>)[AUTH] = { actor: grafanaUser ? `${grafanaUser} (anonymous)` : 'anonymous', role: 'admin', anonymous: true };
    next();
  };
}
