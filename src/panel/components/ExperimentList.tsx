import React, { Fragment, useState } from 'react';
import { css, cx } from '@emotion/css';
import { dateTimeFormat, dateTimeFormatTimeAgo, type GrafanaTheme2 } from '@grafana/data';
import { Alert, ConfirmModal, IconButton, Stack, Text, TextLink, useStyles2 } from '@grafana/ui';
import { formatDuration } from '../../../api/units';
import { ACTIVE_PHASES, TERMINAL_PHASES } from '../../../api/experiment';
import type { PanelError } from '../errors';
import type { Column, Experiment, FaultlineEvent } from '../types';
import { PhaseBadge, TargetPhaseBadge } from './PhaseBadge';
import { TargetsTable } from './TargetsTable';

export type ExperimentAction = 'pause' | 'resume' | 'stop' | 'delete';

interface Props {
  experiments: Experiment[];
  events: FaultlineEvent[];
  columns: Column[];
  canAct: boolean;
  now: number;
  timeZone?: string;
  /** Errors of the last action per experiment key (namespace/name), shown under its row. */
  rowErrors: Record<string, PanelError | undefined>;
  busy: Record<string, boolean>;
  onAction: (action: ExperimentAction, experiment: Experiment) => void;
  onDismissError: (key: string) => void;
  /** The report page of an experiment (the app page); the name links there when given. */
  reportHref?: (e: Experiment) => string;
}

export const keyOf = (e: Experiment) => `${e.metadata.namespace}/${e.metadata.name}`;

/** "2m10s left", "paused", "ended 3 minutes ago" — what a user wants to know at a glance. */
export function timeLeft(e: Experiment, now: number): string {
  const { phase, endsAt, endedAt } = e.status;
  if (TERMINAL_PHASES.includes(phase)) return endedAt ? `ended ${dateTimeFormatTimeAgo(endedAt)}` : 'ended';
  if (phase === 'Paused') return 'paused';
  if (!endsAt) return phase === 'Pending' ? `${e.spec.duration} when started` : '—';
  const ms = Date.parse(endsAt) - now;
  return ms > 0 ? `${formatDuration(ms)} left` : 'ending';
}

function selectorSummary(e: Experiment): string {
  const s = (e.spec.targets?.selector ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(s.pids)) parts.push(`PID ${s.pids.join(', ')}`);
  if (typeof s.processName === 'string') parts.push(`name ~ ${s.processName}`);
  if (Array.isArray(s.cgroups)) parts.push(`cgroup ${s.cgroups.join(', ')}`);
  if (Array.isArray(s.netns)) parts.push(`netns ${s.netns.join(', ')}`);
  if (Array.isArray(s.daemons)) parts.push(`on ${s.daemons.join(', ')}`);
  return parts.join(' · ') || 'host';
}

const TARGETS_SHOWN = 2;

export function ExperimentList(props: Props) {
  const { experiments, events, columns, canAct, now, timeZone, rowErrors, busy, onAction, onDismissError, reportHref } = props;
  const styles = useStyles2(getStyles);
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const [confirmDelete, setConfirmDelete] = useState<Experiment>();
  const show = (c: Column) => columns.includes(c);
  const colSpan = 1 + columns.length + (canAct ? 1 : 0);

  return (
    <>
      <table className={styles.table} aria-label="Experiments">
        <thead>
          <tr>
            <th>Name</th>
            {show('namespace') && <th>Namespace</th>}
            {show('kind') && <th>Kind</th>}
            {show('phase') && <th>Phase</th>}
            {show('targets') && <th>Targets</th>}
            {show('timeLeft') && <th>Time left</th>}
            {show('started') && <th>Started</th>}
            {canAct && <th className={styles.actionsHead}>Actions</th>}
          </tr>
        </thead>
        <tbody>
          {experiments.map((e) => {
            const key = keyOf(e);
            const open = !!expanded[key];
            const targets = e.status.targets ?? [];
            const active = ACTIVE_PHASES.includes(e.status.phase);
            const error = rowErrors[key];
            return (
              <Fragment key={key}>
                <tr className={cx(styles.row, open && styles.rowOpen)} data-testid={`experiment-${key}`}>
                  <td>
                    <Stack direction="row" gap={0.5} alignItems="center">
                      <IconButton
                        name={open ? 'angle-down' : 'angle-right'}
                        aria-expanded={open}
                        tooltip={open ? 'Hide details' : 'Show targets and events'}
                        onClick={() => setExpanded((x) => ({ ...x, [key]: !open }))}
                      />
                      {reportHref ? (
                        <TextLink href={reportHref(e)} inline={false} weight="medium">
                          {e.metadata.name}
                        </TextLink>
                      ) : (
                        <span className={styles.name}>{e.metadata.name}</span>
                      )}
                    </Stack>
                  </td>
                  {show('namespace') && <td className={styles.muted}>{e.metadata.namespace}</td>}
                  {show('kind') && <td>{e.spec.fault.kind}</td>}
                  {show('phase') && (
                    <td>
                      <PhaseBadge phase={e.status.phase} reason={e.status.reason ?? e.status.message} />
                    </td>
                  )}
                  {show('targets') && (
                    <td>
                      {targets.length === 0 ? (
                        <span className={styles.muted}>{selectorSummary(e)}</span>
                      ) : (
                        <Stack direction="row" gap={1} wrap="wrap" alignItems="center">
                          {targets.slice(0, TARGETS_SHOWN).map((t) => (
                            <span key={t.id} className={styles.target}>
                              <span className={styles.targetText} title={t.description}>
                                {t.description}
                              </span>
                              <TargetPhaseBadge phase={t.phase} error={t.error} />
                            </span>
                          ))}
                          {targets.length > TARGETS_SHOWN && <span className={styles.muted}>+{targets.length - TARGETS_SHOWN} more</span>}
                        </Stack>
                      )}
                    </td>
                  )}
                  {show('timeLeft') && <td className={styles.nowrap}>{timeLeft(e, now)}</td>}
                  {show('started') && (
                    <td className={cx(styles.muted, styles.nowrap)}>{e.status.startedAt ? dateTimeFormat(e.status.startedAt, { timeZone }) : '—'}</td>
                  )}
                  {canAct && (
                    <td className={styles.actions}>
                      {e.status.phase === 'Running' && (
                        <IconButton name="pause" tooltip="Pause (revert the faults until resumed)" disabled={busy[key]} onClick={() => onAction('pause', e)} />
                      )}
                      {e.status.phase === 'Paused' && (
                        <IconButton name="play" tooltip="Resume (inject again)" disabled={busy[key]} onClick={() => onAction('resume', e)} />
                      )}
                      {active && (
                        <IconButton name="square-shape" tooltip="Stop (revert the faults now)" variant="destructive" disabled={busy[key]} onClick={() => onAction('stop', e)} />
                      )}
                      {!active && <IconButton name="trash-alt" tooltip="Delete" disabled={busy[key]} onClick={() => setConfirmDelete(e)} />}
                    </td>
                  )}
                </tr>
                {error && (
                  <tr>
                    <td colSpan={colSpan} className={styles.errorCell}>
                      <Alert severity="error" title={error.title} onRemove={() => onDismissError(key)}>
                        {error.message}
                      </Alert>
                    </td>
                  </tr>
                )}
                {open && (
                  <tr className={styles.details}>
                    <td colSpan={colSpan}>
                      <ExperimentDetails experiment={e} events={events} timeZone={timeZone} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
      <ConfirmModal
        isOpen={!!confirmDelete}
        title="Delete experiment?"
        body={confirmDelete ? `Deletes ${keyOf(confirmDelete)} and its history. Its events stay in the event log.` : ''}
        confirmText="Delete"
        onConfirm={() => {
          if (confirmDelete) onAction('delete', confirmDelete);
          setConfirmDelete(undefined);
        }}
        onDismiss={() => setConfirmDelete(undefined)}
      />
    </>
  );
}

function ExperimentDetails({ experiment: e, events, timeZone }: { experiment: Experiment; events: FaultlineEvent[]; timeZone?: string }) {
  const styles = useStyles2(getStyles);
  const own = events.filter((ev) => ev.experiment === e.metadata.name && (!ev.namespace || ev.namespace === e.metadata.namespace)).slice(0, 5);
  const params = Object.entries(e.spec.fault.params ?? {});
  const guards = [...(e.spec.guards?.alerts ?? []), ...(e.spec.guards?.promql ?? []).map((g) => `${g.expr} for ${g.for ?? '0s'}`)];
  return (
    <div className={styles.detailsBody}>
      <Stack direction="column" gap={1}>
        {e.status.message && <Text color="secondary">{e.status.message}</Text>}
        <div className={styles.facts}>
          <span>Duration {e.spec.duration}</span>
          {params.length > 0 && <span>Params {params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}</span>}
          <span>Selector {selectorSummary(e)}</span>
          {guards.length > 0 && <span>Guards {guards.join(', ')}</span>}
        </div>
        {(e.status.targets ?? []).length > 0 && (
          <TargetsTable targets={e.status.targets} label={`Targets of ${e.metadata.name}`} timeZone={timeZone} />
        )}
        {own.length > 0 && <EventLines events={own} timeZone={timeZone} />}
      </Stack>
    </div>
  );
}

export function EventLines({ events, timeZone, showExperiment = false }: { events: FaultlineEvent[]; timeZone?: string; showExperiment?: boolean }) {
  const styles = useStyles2(getStyles);
  return (
    <ul className={styles.events} aria-label="Events">
      {events.map((ev) => (
        <li key={ev.id}>
          <span className={styles.muted}>{dateTimeFormat(ev.time, { timeZone, format: 'HH:mm:ss' })}</span>
          <span className={styles.eventType}>{ev.type}</span>
          {showExperiment && ev.experiment && <span className={styles.name}>{ev.experiment}</span>}
          <span>{ev.message}</span>
        </li>
      ))}
    </ul>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    fontSize: theme.typography.bodySmall.fontSize,
    'th, td': { padding: theme.spacing(0.75, 1), textAlign: 'left', verticalAlign: 'middle' },
    th: {
      color: theme.colors.text.secondary,
      fontWeight: theme.typography.fontWeightMedium,
      borderBottom: `1px solid ${theme.colors.border.medium}`,
      whiteSpace: 'nowrap',
      position: 'sticky',
      top: 0,
      background: theme.colors.background.primary,
      zIndex: 1,
    },
  }),
  row: css({
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    '&:hover': { background: theme.colors.action.hover },
  }),
  rowOpen: css({ background: theme.colors.background.secondary, borderBottom: 'none' }),
  name: css({ fontWeight: theme.typography.fontWeightMedium, color: theme.colors.text.primary }),
  muted: css({ color: theme.colors.text.secondary }),
  nowrap: css({ whiteSpace: 'nowrap' }),
  target: css({ display: 'inline-flex', alignItems: 'center', gap: theme.spacing(0.5), maxWidth: 260 }),
  targetText: css({ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  actionsHead: css({ textAlign: 'right !important' as 'right' }),
  actions: css({ textAlign: 'right', whiteSpace: 'nowrap', '& > *': { marginLeft: theme.spacing(1) } }),
  errorCell: css({ padding: `${theme.spacing(0.5, 1, 0, 1)} !important`, '& > div': { marginBottom: theme.spacing(1) } }),
  details: css({ background: theme.colors.background.secondary, borderBottom: `1px solid ${theme.colors.border.weak}` }),
  detailsBody: css({ padding: theme.spacing(0.5, 1, 1, 4) }),
  facts: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(0.5, 2), color: theme.colors.text.secondary, fontFamily: theme.typography.fontFamilyMonospace }),
  events: css({
    listStyle: 'none',
    margin: 0,
    padding: 0,
    fontSize: theme.typography.bodySmall.fontSize,
    li: { display: 'flex', gap: theme.spacing(1), padding: theme.spacing(0.25, 0), alignItems: 'baseline' },
  }),
  eventType: css({ fontFamily: theme.typography.fontFamilyMonospace, color: theme.colors.primary.text, minWidth: 80 }),
});
