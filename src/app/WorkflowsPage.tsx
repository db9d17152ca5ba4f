import React, { useEffect, useState } from 'react';
import { EmptyState, Stack } from '@grafana/ui';
import type { Workflow } from '../../api/workflow';
import type { FaultlineEvent } from '../../api/events';
import { toPanelError, type PanelError } from '../panel/errors';
import { WorkflowList, workflowKey } from '../panel/components/WorkflowList';
import { useWorkflowsAndFreeze } from '../panel/useWorkflowsAndFreeze';
import type { PageProps } from './ExperimentsPage';

// Workflows (steps of experiments, waits and checks run in order): the panel's list, full page,
// kept current by the data source's shared event stream.

export function WorkflowsPage({ api, canAct }: PageProps) {
  const [events, setEvents] = useState<FaultlineEvent[]>([]);
  useEffect(() => {
    const sub = api.events().subscribe({ next: (ev) => setEvents((prev) => [ev, ...prev].slice(0, 50)), error: () => undefined });
    return () => sub.unsubscribe();
  }, [api]);
  const { workflows, reloadWorkflows } = useWorkflowsAndFreeze(api, events);
  const [errors, setErrors] = useState<Record<string, PanelError | undefined>>({});
  const [busy, setBusy] = useState<Record<string, boolean>>({});

  const abort = async (w: Workflow) => {
    const key = workflowKey(w);
    setBusy((b) => ({ ...b, [key]: true }));
    setErrors((e) => ({ ...e, [key]: undefined }));
    try {
      await api.abortWorkflow(w.metadata.namespace, w.metadata.name);
    } catch (err) {
      setErrors((e) => ({ ...e, [key]: toPanelError(err, `abort workflow ${key}`) }));
    } finally {
      setBusy((b) => ({ ...b, [key]: false }));
      void reloadWorkflows();
    }
  };

  if (workflows.length === 0) {
    return (
      <EmptyState variant="not-found" message="No workflows">
        Create one with the CLI (<code>faultline apply -f workflow.yaml</code>) or the API (POST /api/v1/workflows).
      </EmptyState>
    );
  }
  return (
    <Stack direction="column">
      <WorkflowList
        workflows={workflows}
        canAct={canAct}
        errors={errors}
        busy={busy}
        onAbort={(w) => void abort(w)}
        onDismissError={(key) => setErrors((e) => ({ ...e, [key]: undefined }))}
      />
    </Stack>
  );
}
