import React, { useEffect, useState } from 'react';
import { css } from '@emotion/css';
import { dateTimeFormat, type GrafanaTheme2 } from '@grafana/data';
import { Alert, Badge, LinkButton, LoadingPlaceholder, Stack, Text, useStyles2, type BadgeColor } from '@grafana/ui';
import type { Report } from '../../api/report';
import { toPanelError, type PanelError } from '../panel/errors';
import { PhaseBadge } from '../panel/components/PhaseBadge';
import { appPage } from './links';
import type { PageProps } from './ExperimentsPage';
import { SliChart } from './SliChart';
import { TargetsTable } from '../panel/components/TargetsTable';

// One run's report (GET /experiments/:ns/:name/report): outcome, what stopped it, targets, the
// timeline and the SLI panels. Annotation regions and the experiment list link here.

const OUTCOME_COLOR: Record<string, BadgeColor> = { Finished: 'green', Aborted: 'red', Failed: 'red' };

export function ReportPage({ api, namespace, name }: PageProps & { namespace: string; name: string }) {
  const styles = useStyles2(getStyles);
  const [report, setReport] = useState<Report>();
  const [error, setError] = useState<PanelError>();

  useEffect(() => {
    let gone = false;
    setReport(undefined);
    setError(undefined);
    if (!namespace || !name) return;
    api.report(namespace, name).then(
      (r) => !gone && setReport(r),
      (err) => !gone && setError(toPanelError(err, `load the report of ${namespace}/${name}`)),
    );
    return () => {
      gone = true;
    };
  }, [api, namespace, name]);

  const back = (
    <LinkButton href={appPage('experiments')} icon="arrow-left" variant="secondary" size="sm" fill="text">
      All experiments
    </LinkButton>
  );
  if (!namespace || !name) {
    return (
      <Stack direction="column" gap={2}>
        {back}
        <Alert severity="info" title="Which run?">
          Open a report from the experiment list or from an annotation region on a dashboard.
        </Alert>
      </Stack>
    );
  }
  if (error) {
    return (
      <Stack direction="column" gap={2}>
        {back}
        <Alert severity="error" title={error.title}>
          {error.message}
        </Alert>
      </Stack>
    );
  }
  if (!report) return <LoadingPlaceholder text={`Loading the report of ${namespace}/${name}…`} />;

  const outcome = report.outcome.split(':')[0].trim();
  return (
    <Stack direction="column" gap={2} data-testid="run-report">
      {back}
      <div className={styles.header}>
        <Text element="h2" variant="h3">
          {report.experiment.namespace}/{report.experiment.name}
        </Text>
        <Badge text={report.outcome} color={OUTCOME_COLOR[outcome] ?? 'orange'} />
        <span className={styles.muted}>
          {report.experiment.kind}
          {report.startedAt && ` · ${dateTimeFormat(report.startedAt)}`}
          {report.durationSeconds !== undefined && ` · ${report.durationSeconds.toFixed(0)} s`}
        </span>
      </div>
      {report.guard && (
        <Alert severity="warning" title={`Stopped by ${report.guard.type}`}>
          {report.guard.message} ({dateTimeFormat(report.guard.time)})
        </Alert>
      )}
      {report.prometheus && (
        <Alert severity="info" title="No SLI data">
          {report.prometheus}
        </Alert>
      )}
      {report.slis.length > 0 && (
        <section aria-label="SLIs" className={styles.slis}>
          {report.slis.map((s) => (
            <SliChart key={s.name} sli={s} />
          ))}
        </section>
      )}
      <section aria-label="Targets">
        <Text element="h3" variant="h5">
          Targets
        </Text>
        <TargetsTable targets={report.targets} label={`Targets of ${report.experiment.name}`} variant="page" />
      </section>
      <section aria-label="Timeline">
        <Text element="h3" variant="h5">
          Timeline
        </Text>
        <table className={styles.table}>
          <tbody>
            {report.timeline.map((ev, i) => (
              <tr key={i}>
                <td className={styles.nowrap}>{dateTimeFormat(ev.time)}</td>
                <td>
                  <PhaseBadgeOrType type={ev.type} />
                </td>
                <td>{ev.target ?? ''}</td>
                <td>{ev.message}</td>
                <td className={styles.muted}>{ev.actor ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Stack>
  );
}

function PhaseBadgeOrType({ type }: { type: string }) {
  const phase = ({ finished: 'Finished', aborted: 'Aborted', failed: 'Failed', paused: 'Paused', running: 'Running' } as const)[type as 'finished'];
  return phase ? <PhaseBadge phase={phase} /> : <code>{type}</code>;
}

const getStyles = (theme: GrafanaTheme2) => ({
  header: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1.5), flexWrap: 'wrap' }),
  muted: css({ color: theme.colors.text.secondary }),
  nowrap: css({ whiteSpace: 'nowrap' }),
  slis: css({ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(420px, 1fr))', gap: theme.spacing(2) }),
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    'th, td': { textAlign: 'left', padding: theme.spacing(0.5, 1), borderBottom: `1px solid ${theme.colors.border.weak}`, verticalAlign: 'top' },
    th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium },
  }),
});
