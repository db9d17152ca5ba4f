import React from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Button, Field, IconButton, Input, Stack, useStyles2 } from '@grafana/ui';
import type { LaunchFormState } from '../types';

// Guards stop the experiment on their own: an alert whose labels match any matcher, or a PromQL
// expression that returns something for the given time.

interface Props {
  alerts: string[];
  promql: LaunchFormState['promql'];
  errors: Record<string, string>;
  onChange: (patch: Partial<Pick<LaunchFormState, 'alerts' | 'promql'>>) => void;
}

export function GuardsEditor({ alerts, promql, errors, onChange }: Props) {
  const styles = useStyles2(getStyles);
  const setAlert = (i: number, v: string) => onChange({ alerts: alerts.map((a, j) => (j === i ? v : a)) });
  const setPromql = (i: number, patch: Partial<LaunchFormState['promql'][number]>) => onChange({ promql: promql.map((p, j) => (j === i ? { ...p, ...patch } : p)) });

  return (
    <div>
      <Field label="Stop when an alert fires" description='Prometheus label matchers, e.g. alertname="HighErrorRate" or service=~"api|web"'>
        <Stack direction="column" gap={1}>
          {alerts.map((a, i) => {
            const error = errors[`/spec/guards/alerts/${i}`];
            return (
              <div key={i}>
                <Stack direction="row" gap={1} alignItems="center">
                  <Input aria-label={`Alert matcher ${i + 1}`} value={a} invalid={!!error} placeholder='alertname="HighErrorRate"' onChange={(e) => setAlert(i, e.currentTarget.value)} />
                  <IconButton name="trash-alt" tooltip="Remove matcher" onClick={() => onChange({ alerts: alerts.filter((_, j) => j !== i) })} />
                </Stack>
                {error && <div className={styles.error}>{error}</div>}
              </div>
            );
          })}
          <div>
            <Button size="sm" variant="secondary" icon="plus" onClick={() => onChange({ alerts: [...alerts, ''] })}>
              Add alert matcher
            </Button>
          </div>
        </Stack>
      </Field>
      <Field label="Stop when a PromQL query returns data" description="checked every 5s; e.g. rate(http_errors_total[1m]) > 5 for 30s">
        <Stack direction="column" gap={1}>
          {promql.map((p, i) => {
            const exprError = errors[`/spec/guards/promql/${i}/expr`];
            const forError = errors[`/spec/guards/promql/${i}/for`];
            return (
              <div key={i}>
                <Stack direction="row" gap={1} alignItems="center">
                  <Input aria-label={`PromQL guard ${i + 1}`} value={p.expr} invalid={!!exprError} placeholder="rate(http_errors_total[1m]) > 5" onChange={(e) => setPromql(i, { expr: e.currentTarget.value })} />
                  <Input aria-label={`PromQL guard ${i + 1} for`} value={p.for} invalid={!!forError} width={10} prefix="for" placeholder="0s" onChange={(e) => setPromql(i, { for: e.currentTarget.value })} />
                  <IconButton name="trash-alt" tooltip="Remove guard" onClick={() => onChange({ promql: promql.filter((_, j) => j !== i) })} />
                </Stack>
                {(exprError || forError) && <div className={styles.error}>{[exprError && `query ${exprError}`, forError && `for ${forError}`].filter(Boolean).join('; ')}</div>}
              </div>
            );
          })}
          <div>
            <Button size="sm" variant="secondary" icon="plus" onClick={() => onChange({ promql: [...promql, { expr: '', for: '' }] })}>
              Add PromQL guard
            </Button>
          </div>
        </Stack>
      </Field>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  error: css({ color: theme.colors.error.text, fontSize: theme.typography.bodySmall.fontSize, marginTop: theme.spacing(0.5) }),
});
