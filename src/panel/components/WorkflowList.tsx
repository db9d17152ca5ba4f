import React, { useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Alert, Button, ConfirmModal, IconButton, useStyles2 } from '@grafana/ui';
import type { Workflow } from '../../../api/workflow';
import type { PanelError } from '../errors';
import { PhaseBadge } from './PhaseBadge';

// The panel's compact view of workflows: one row each (phase, steps done/total), per-step rows on
// demand, and Abort for Editors behind a confirmation. Errors stay on the row the user acted on.

const DONE_STEP_PHASES = new Set(['Succeeded', 'Failed', 'Aborted', 'Skipped']);
const ACTIVE_WORKFLOW_PHASES = new Set(['Pending', 'Running']);

export const workflowKey = (w: Workflow) => `${w.metadata.namespace}/${w.metadata.name}`;

interface Props {
  workflows: Workflow[];
  canAct: boolean;
  errors: Record<string, PanelError | undefined>;
  busy: Record<string, boolean>;
  onAbort: (w: Workflow) => void;
  onDismissError: (key: string) => void;
}

export function WorkflowList({ workflows, canAct, errors, busy, onAbort, onDismissError }: Props) {
  const styles = useStyles2(getStyles);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const [confirming, setConfirming] = useState<Workflow>();
  if (workflows.length === 0) return null;
  return (
    <section className={styles.section} aria-label="Workflows">
      <div className={styles.title}>Workflows</div>
      {workflows.map((w) => {
        const key = workflowKey(w);
        const steps = w.status.steps ?? [];
        const done = steps.filter((s) => DONE_STEP_PHASES.has(s.phase)).length;
        const error = errors[key];
        return (
          <div key={key} data-testid={`workflow-${key}`} className={styles.row}>
            <div className={styles.line}>
              <IconButton
                name={open[key] ? 'angle-down' : 'angle-right'}
                aria-label={`${open[key] ? 'Hide' : 'Show'} steps of ${key}`}
                aria-expanded={!!open[key]}
                onClick={() => setOpen((o) => ({ ...o, [key]: !o[key] }))}
              />
              <span className={styles.name}>{key}</span>
              <PhaseBadge phase={w.status.phase} reason={w.status.message ?? w.status.reason} />
              <span className={styles.muted}>
                {done}/{steps.length} steps
              </span>
              {canAct && ACTIVE_WORKFLOW_PHASES.has(w.status.phase) && (
                <Button size="sm" variant="destructive" fill="outline" icon="times" disabled={!!busy[key]} onClick={() => setConfirming(w)}>
                  Abort
                </Button>
              )}
            </div>
            {error && (
              <Alert severity="error" title={error.title} bottomSpacing={0} onRemove={() => onDismissError(key)}>
                {error.message}
              </Alert>
            )}
            {open[key] && (
              <table className={styles.steps}>
                <tbody>
                  {steps.map((s) => (
                    <tr key={s.path} data-testid={`workflow-step-${key}/${s.path}`}>
                      <td>{s.path}</td>
                      <td className={styles.muted}>{s.type}</td>
                      <td>
                        <PhaseBadge phase={s.phase} reason={s.message} />
                      </td>
                      <td className={styles.muted}>{s.experiment ?? ''}</td>
                      <td className={styles.muted}>{s.message ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
      <ConfirmModal
        isOpen={!!confirming}
        title={`Abort workflow ${confirming ? workflowKey(confirming) : ''}?`}
        body="Running steps are stopped and their faults reverted; steps not yet started are skipped."
        confirmText="Abort workflow"
        onConfirm={() => {
          if (confirming) onAbort(confirming);
          setConfirming(undefined);
        }}
        onDismiss={() => setConfirming(undefined)}
      />
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  section: css({ marginTop: theme.spacing(1.5), paddingTop: theme.spacing(1), borderTop: `1px solid ${theme.colors.border.weak}` }),
  title: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize, fontWeight: theme.typography.fontWeightMedium, marginBottom: theme.spacing(0.5) }),
  row: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5), padding: theme.spacing(0.5, 0) }),
  line: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1), flexWrap: 'wrap' }),
  name: css({ fontWeight: theme.typography.fontWeightMedium }),
  muted: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
  steps: css({ marginLeft: theme.spacing(4), borderCollapse: 'collapse', td: { padding: theme.spacing(0.25, 1) } }),
});
