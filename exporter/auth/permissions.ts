import type { Role } from './tokens';

// What a route may require and which token roles satisfy it. Each route names its access in the
// route table (exporter/routes/), checked after routing on the matched route. The usual
// choices: reads need viewer; experiments, workflows, freezing and stop-all need operator
// (stopping must never be harder than starting); lifting a freeze needs admin; alert webhooks
// accept the webhook-only `alerting` role too.

export type Access = 'viewer' | 'operator' | 'admin' | 'webhook';

export const ACCESS: readonly Access[] = ['viewer', 'operator', 'admin', 'webhook'];

const RANK: Record<Role, number> = { alerting: 0, viewer: 1, operator: 2, admin: 3 };

export function allows(role: Role, access: Access): boolean {
  if (access === 'webhook') return role === 'alerting' || RANK[role] >= RANK.operator;
  return RANK[role] >= RANK[access];
}

/** The role to name in a 403. */
export function neededRole(access: Access): string {
  return access === 'webhook' ? 'alerting or operator' : access;
}
