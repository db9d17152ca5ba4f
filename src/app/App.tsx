import React, { useMemo } from 'react';
import type { AppRootProps } from '@grafana/data';
import { PluginPage } from '@grafana/runtime';
import { Alert, LinkButton, Stack } from '@grafana/ui';
import { clientFor } from '../client/client';
import { canAct, isAdmin } from '../panel/roles';
import { pageOf } from './links';
import { useAppLocation } from './useLocation';
import { ExperimentsPage } from './ExperimentsPage';
import { WorkflowsPage } from './WorkflowsPage';
import { SchedulesPage } from './SchedulesPage';
import { ReportPage } from './ReportPage';

// The Faultline app's root page: one component for every path under /a/faultline-chaos-app/, the
// page picked by the URL. It reaches the exporter through a Faultline data source (?datasource=uid,
// or the first one), with the same client and shared event stream as the panel and the data source.

export function App(_props: AppRootProps) {
  const { pathname, query } = useAppLocation();
  const page = pageOf(pathname);
  const dsRef = query.get('datasource') ?? '';
  const found = useMemo(() => clientFor(dsRef), [dsRef]);

  if (!('client' in found)) {
    return (
      <PluginPage>
        <Alert severity="warning" title={found.problem === 'none' ? 'No Faultline data source yet' : 'Not a Faultline data source'}>
          <Stack direction="column" gap={1}>
            <span>
              {found.problem === 'none'
                ? 'The app talks to the Faultline exporter through a Faultline data source (its proxy keeps the API token on the server). Add one with the exporter URL and a token.'
                : `"${dsRef}" is not a Faultline data source; open the app without ?datasource= or name a Faultline one.`}
            </span>
            <LinkButton href="/connections/datasources/new" icon="plus" variant="secondary" size="sm">
              Add a data source
            </LinkButton>
          </Stack>
        </Alert>
      </PluginPage>
    );
  }
  const api = found.client;
  const common = { api, datasource: dsRef || undefined, canAct: canAct(), isAdmin: isAdmin() };
  return (
    <PluginPage>
      {page === 'report' ? (
        <ReportPage {...common} namespace={query.get('namespace') ?? ''} name={query.get('name') ?? ''} />
      ) : page === 'workflows' ? (
        <WorkflowsPage {...common} />
      ) : page === 'schedules' ? (
        <SchedulesPage {...common} />
      ) : (
        <ExperimentsPage {...common} />
      )}
    </PluginPage>
  );
}
