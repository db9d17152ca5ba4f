import type { Role } from './tokens';

// Who may do what, in one table. Reads need viewer; experiments need operator; freezing and
// stop-all need operator (stopping must never be harder than starting); lifting a freeze and
// changing policy need admin; alert webhooks accept the webhook-only `alerting` role too.

export type Access = 'viewer' | 'operator' | 'admin' | 'webhook';

const RANK: Record<Role, number> = { alerting: 0, viewer: 1, operator: 2, admin: 3 };

/** What a request needs. `path` is the URL path without the query string. */
export function requiredAccess(method: string, path: string): Access {
  const m = method.toUpperCase();
  const p = path.replace(/\/+$/, '') || '/';
  if (m === 'POST' && /^\/api\/v1\/alerts\/[^/]+$/.test(p)) return 'webhook';
  if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') return 'viewer';
  if (p === '/api/v1/freeze') return m === 'DELETE' ? 'admin' : 'operator';
  if (p === '/api/v1/stop-all') return 'operator';
  if (p === '/api/v1/policy' || p.startsWith('/api/v1/policy/')) return 'admin';
  return 'operator';
}

export function allows(role: Role, access: Access): boolean {
  if (access === 'webhook') return role === 'alerting' || RANK[role] >= RANK.operator;
  return RANK[role] >= RANK[access];
}

/** The role to name in a 403. */
export function neededRole(access: Access): string {
  return access === 'webhook' ? 'alerting or operator' : access;
}
