import { config } from '@grafana/runtime';

// Who may act from the panel. This only decides what the panel offers: the data source's proxy
// routes require the Editor role for every mutation (reqRole), so the server enforces the same rule.

export function canAct(): boolean {
  const user = config.bootData?.user;
  if (!user) return false;
  return user.orgRole === 'Editor' || user.orgRole === 'Admin' || user.isGrafanaAdmin === true;
}

/** Admins may lift a freeze (the exporter's DELETE /freeze needs its admin role too). */
export function isAdmin(): boolean {
  const user = config.bootData?.user;
  return !!user && (user.orgRole === 'Admin' || user.isGrafanaAdmin === true);
}
