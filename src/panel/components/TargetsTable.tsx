import React from 'react';
import { css, cx } from '@emotion/css';
import { dateTimeFormat, type GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';
import type { TargetStatus } from '../../../api/experiment';
import { TargetPhaseBadge } from './PhaseBadge';

// One run's targets: what was hit, on which host, in which state, and when it was injected and
// recovered. The panel shows it under an expanded experiment, the app's report page for the run;
// both read the same fields (an experiment's status.targets, a report's targets).

export type TargetRow = Pick<TargetStatus, 'description' | 'daemon' | 'injectedAt' | 'recoveredAt' | 'error'> & { phase: string };

interface Props {
  targets: TargetRow[];
  /** Names the table for screen readers (several can be on one dashboard). */
  label: string;
  timeZone?: string;
  /** Full width with row lines (a page), or compact (inside a panel row). */
  variant?: 'page' | 'compact';
}

export function TargetsTable({ targets, label, timeZone, variant = 'compact' }: Props) {
  const styles = useStyles2(getStyles);
  const fmt = (t?: string) => (t ? dateTimeFormat(t, { timeZone }) : '—');
  // An empty Error column on every healthy run is noise: shown only when a target has one.
  const anyError = targets.some((t) => t.error);
  return (
    <table className={cx(styles.table, variant === 'page' && styles.page)} aria-label={label}>
      <thead>
        <tr>
          <th>Target</th>
          <th>Host</th>
          <th>State</th>
          <th>Injected</th>
          <th>Recovered</th>
          {anyError && <th>Error</th>}
        </tr>
      </thead>
      <tbody>
        {targets.map((t, i) => (
          <tr key={`${t.daemon}/${t.description}/${i}`}>
            <td>{t.description}</td>
            <td className={styles.muted}>{t.daemon}</td>
            <td>
              {/* A report's phase is a plain string on the wire; one the badge does not know is grey. */}
              <TargetPhaseBadge phase={t.phase as TargetStatus['phase']} />
            </td>
            <td className={styles.muted}>{fmt(t.injectedAt)}</td>
            <td className={styles.muted}>{fmt(t.recoveredAt)}</td>
            {anyError && <td className={styles.error}>{t.error ?? ''}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    borderCollapse: 'collapse',
    'th, td': { padding: theme.spacing(0.25, 1.5, 0.25, 0), textAlign: 'left', verticalAlign: 'top' },
    th: { color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightMedium },
  }),
  page: css({
    width: '100%',
    'th, td': { padding: theme.spacing(0.5, 1), borderBottom: `1px solid ${theme.colors.border.weak}` },
  }),
  muted: css({ color: theme.colors.text.secondary }),
  error: css({ color: theme.colors.error.text }),
});
