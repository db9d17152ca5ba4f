import React, { useCallback, useEffect, useState } from 'react';
import { css } from '@emotion/css';
import { dateTimeFormat, dateTimeFormatTimeAgo, type GrafanaTheme2 } from '@grafana/data';
import { Alert, EmptyState, LoadingPlaceholder, TextLink, useStyles2 } from '@grafana/ui';
import type { Experiment } from '../../api/experiment';
import { toPanelError, type PanelError } from '../panel/errors';
import { PhaseBadge } from '../panel/components/PhaseBadge';
import { runReport } from './links';
import type { PageProps } from './ExperimentsPage';

// Scheduled experiments (spec.schedule, a cron expression): each tick creates a run, an experiment
// of its own. One row per schedule: cron, next and last run (linked to its report), runs still on.

export function SchedulesPage({ api, datasource }: PageProps) {
  const styles = useStyles2(getStyles);
  const [schedules, setSchedules] = useState<Experiment[]>();
  const [error, setError] = useState<PanelError>();

  const load = useCallback(async () => {
    try {
      const all = await api.listExperiments();
      setSchedules(all.filter((e) => !!e.spec.schedule));
      setError(undefined);
    } catch (err) {
      setError(toPanelError(err, 'load the schedules'));
    }
  }, [api]);

  useEffect(() => {
    void load();
    // A tick creates a run (an event on the shared stream): reload, debounced.
    let t: ReturnType<typeof setTimeout> | undefined;
    const sub = api.events().subscribe({
      next: () => {
        if (t) clearTimeout(t);
        t = setTimeout(() => void load(), 300);
      },
      error: () => undefined,
    });
    return () => {
      sub.unsubscribe();
      if (t) clearTimeout(t);
    };
  }, [api, load]);

  if (error) {
    return (
      <Alert severity="error" title={error.title}>
        {error.message}
      </Alert>
    );
  }
  if (!schedules) return <LoadingPlaceholder text="Loading schedules…" />;
  if (schedules.length === 0) {
    return (
      <EmptyState variant="not-found" message="No schedules">
        An experiment with <code>spec.schedule</code> (a cron expression) runs on every tick; it is listed here.
      </EmptyState>
    );
  }
  return (
    <table className={styles.table} aria-label="Schedules">
      <thead>
        <tr>
          <th>Name</th>
          <th>Namespace</th>
          <th>Kind</th>
          <th>Schedule</th>
          <th>State</th>
          <th>Next run</th>
          <th>Last run</th>
          <th>Running now</th>
        </tr>
      </thead>
      <tbody>
        {schedules.map((e) => {
          const s = e.status.schedule;
          const { namespace, name } = e.metadata;
          return (
            <tr key={`${namespace}/${name}`} data-testid={`schedule-${namespace}/${name}`}>
              <td>{name}</td>
              <td className={styles.muted}>{namespace}</td>
              <td>{e.spec.fault.kind}</td>
              <td>
                <code>{e.spec.schedule}</code>
              </td>
              <td>
                <PhaseBadge phase={e.status.phase} reason={e.status.message} />
              </td>
              <td>{s?.nextRunAt ? `${dateTimeFormat(s.nextRunAt)} (${dateTimeFormatTimeAgo(s.nextRunAt)})` : '—'}</td>
              <td>{s?.lastRun ? <TextLink href={runReport(namespace, s.lastRun, datasource)}>{s.lastRun}</TextLink> : '—'}</td>
              <td>
                {(s?.active ?? []).length === 0
                  ? '—'
                  : (s?.active ?? []).map((run) => (
                      <TextLink key={run} href={runReport(namespace, run, datasource)}>
                        {run}
                      </TextLink>
                    ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    'th, td': { textAlign: 'left', padding: theme.spacing(0.75, 1), borderBottom: `1px solid ${theme.colors.border.weak}` },
    th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium },
  }),
  muted: css({ color: theme.colors.text.secondary }),
});
