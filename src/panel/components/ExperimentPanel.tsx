import React, { useEffect, useMemo, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2, PanelProps } from '@grafana/data';
import { Alert, Button, Drawer, EmptyState, Icon, LoadingPlaceholder, Stack, Tooltip, useStyles2 } from '@grafana/ui';
import { ACTIVE_PHASES, TERMINAL_PHASES } from '../../../api/experiment';
import { clientFor, type FaultlineApi } from '../../client/client';
import { PanelError, toPanelError } from '../errors';
import { canAct as userCanAct, isAdmin as userIsAdmin } from '../roles';
import { DEFAULT_OPTIONS, type Experiment, type LaunchTemplate, type PanelOptions } from '../types';
import { useExperiments, useNow, type LiveState, type Range } from '../useExperiments';
import { useWorkflowsAndFreeze } from '../useWorkflowsAndFreeze';
import type { Workflow } from '../../../api/workflow';
import { ConfirmStopAll } from './ConfirmStopAll';
import { EventLines, ExperimentList, keyOf, type ExperimentAction } from './ExperimentList';
import { FreezeBanner, FreezeButton } from './Freeze';
import { WorkflowList, workflowKey } from './WorkflowList';
import { LaunchForm } from './LaunchForm';

/** What an "All" selection of a namespace variable may turn into: no filter. */
const ALL_VALUES = new Set(['$__all', '*', '.*', '.+', 'All']);

/** The namespaces option after template variables; a multi-value variable arrives as "a,b" with the csv format. Empty = all. */
export function namespacesOption(raw: string, replaceVariables: PanelProps['replaceVariables']): string[] {
  return replaceVariables(raw, undefined, 'csv')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && !ALL_VALUES.has(s));
}

/** The client of the data source the options name, or why there is none, in the user's words. */
function lookUp(dsRef: string): { api?: FaultlineApi; error?: PanelError } {
  const found = clientFor(dsRef);
  if ('client' in found) return { api: found.client };
  if (found.problem === 'not-faultline') {
    return { error: new PanelError('failed', 'Not a Faultline data source', `"${dsRef}" is not a Faultline data source. Pick a Faultline data source in the panel options.`) };
  }
  if (found.problem === 'missing') {
    return { error: new PanelError('failed', 'Data source not found', `There is no data source "${dsRef}". Pick a Faultline data source in the panel options.`) };
  }
  return { error: new PanelError('failed', 'No Faultline data source', 'Add a Faultline data source (Connections → Data sources), then pick it in the panel options.') };
}

/** The panel as Grafana renders it: finds the data source, then shows the view. */
export function ExperimentPanel({ options, onOptionsChange, replaceVariables, width, height, timeZone, timeRange }: PanelProps<PanelOptions>) {
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const dsRef = replaceVariables(opts.datasource ?? '');
  const namespaces = namespacesOption(opts.namespace ?? '', replaceVariables);
  const found = useMemo(() => lookUp(dsRef), [dsRef]);
  const api = found.api;
  const apiError = found.error;
  // The dashboard's range: the latest events are those of the range, and a refresh (which moves a
  // relative range) reloads the list.
  const range = useMemo<Range | undefined>(
    () => (timeRange ? { from: timeRange.from.valueOf(), to: timeRange.to.valueOf() } : undefined),
    [timeRange?.from.valueOf(), timeRange?.to.valueOf()], // eslint-disable-line react-hooks/exhaustive-deps
  );

  if (apiError) {
    return (
      <Alert severity="error" title={apiError.title}>
        {apiError.message}
      </Alert>
    );
  }
  if (!api) return <LoadingPlaceholder text="Connecting to Faultline…" />;
  return (
    <FaultlineView
      api={api}
      options={opts}
      namespaces={namespaces}
      canAct={userCanAct()}
      isAdmin={userIsAdmin()}
      timeZone={timeZone}
      width={width}
      height={height}
      range={range}
      onOptionsChange={onOptionsChange}
    />
  );
}

interface ViewProps {
  api: FaultlineApi;
  options: PanelOptions;
  /** Namespace filter after template variables; empty = all. */
  namespaces: string[];
  canAct: boolean;
  /** May lift a freeze. */
  isAdmin?: boolean;
  timeZone?: string;
  /** A number in a panel (pixels); the app page passes '100%' / 'auto'. */
  width: number | string;
  height: number | string;
  /** Only experiments this accepts are listed (the app page's filters). */
  filter?: (e: Experiment) => boolean;
  /** Where each experiment's report is (the app page); no links when undefined. */
  reportHref?: (e: Experiment) => string;
  /** The dashboard's time range (events shown are of this range); undefined = the last 15 minutes. */
  range?: Range;
  onOptionsChange?: (options: PanelOptions) => void;
}

const NOTICE_MS = 6000;

const ACTION_WORDS: Record<ExperimentAction, string> = { pause: 'pause', resume: 'resume', stop: 'stop', delete: 'delete' };

/** The panel's content, given a FaultlineApi (tests and the browser harness render this directly too). */
export function FaultlineView({ api, options, namespaces, canAct, isAdmin = false, timeZone, width, height, filter, reportHref, range, onOptionsChange }: ViewProps) {
  const styles = useStyles2(getStyles);
  const state = useExperiments(api, range);
  const extra = useWorkflowsAndFreeze(api, state.events);
  const [workflowErrors, setWorkflowErrors] = useState<Record<string, PanelError | undefined>>({});
  const [workflowBusy, setWorkflowBusy] = useState<Record<string, boolean>>({});
  const [freezeError, setFreezeError] = useState<PanelError>();
  const [unfreezeError, setUnfreezeError] = useState<PanelError>();
  const now = useNow();
  const [launching, setLaunching] = useState(false);
  const [rowErrors, setRowErrors] = useState<Record<string, PanelError | undefined>>({});
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [stopAllError, setStopAllError] = useState<PanelError>();
  const [notice, setNotice] = useState<string>();

  const visible = useMemo(
    () =>
      state.experiments
        .filter((e) => namespaces.length === 0 || namespaces.includes(e.metadata.namespace))
        .filter((e) => !options.activeOnly || !TERMINAL_PHASES.includes(e.status.phase))
        .filter((e) => !filter || filter(e))
        .sort((a, b) => rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')),
    [state.experiments, namespaces, options.activeOnly, filter],
  );
  const activeCount = state.experiments.filter((e) => ACTIVE_PHASES.includes(e.status.phase)).length;
  const events = state.events.filter((e) => namespaces.length === 0 || !e.namespace || namespaces.includes(e.namespace));

  const act = async (action: ExperimentAction, e: Experiment) => {
    const key = keyOf(e);
    setBusy((b) => ({ ...b, [key]: true }));
    setRowErrors((r) => ({ ...r, [key]: undefined }));
    try {
      const { namespace, name } = e.metadata;
      if (action === 'pause') await api.pause(namespace, name);
      else if (action === 'resume') await api.resume(namespace, name);
      else if (action === 'stop') await api.stop(namespace, name);
      else await api.remove(namespace, name);
    } catch (err) {
      setRowErrors((r) => ({ ...r, [key]: toPanelError(err, `${ACTION_WORDS[action]} ${key}`) }));
    } finally {
      setBusy((b) => ({ ...b, [key]: false }));
      void state.reload();
    }
  };

  const visibleWorkflows = extra.workflows.filter((w) => namespaces.length === 0 || namespaces.includes(w.metadata.namespace));

  const abortWorkflow = async (w: Workflow) => {
    const key = workflowKey(w);
    setWorkflowBusy((b) => ({ ...b, [key]: true }));
    setWorkflowErrors((r) => ({ ...r, [key]: undefined }));
    try {
      await api.abortWorkflow(w.metadata.namespace, w.metadata.name);
    } catch (err) {
      setWorkflowErrors((r) => ({ ...r, [key]: toPanelError(err, `abort workflow ${key}`) }));
    } finally {
      setWorkflowBusy((b) => ({ ...b, [key]: false }));
      void extra.reloadWorkflows();
    }
  };

  const freeze = async (reason: string) => {
    setFreezeError(undefined);
    try {
      await api.freeze({ reason });
      setNotice('Chaos frozen: active experiments are being stopped and new ones are refused.');
    } catch (err) {
      setFreezeError(toPanelError(err, 'freeze chaos'));
    } finally {
      void extra.reloadFreeze();
      void state.reload();
    }
  };

  const unfreeze = async () => {
    setUnfreezeError(undefined);
    try {
      await api.unfreeze();
      setNotice('Chaos unfrozen: experiments may start again.');
    } catch (err) {
      setUnfreezeError(toPanelError(err, 'unfreeze chaos'));
    } finally {
      void extra.reloadFreeze();
    }
  };

  const stopAll = async () => {
    setStopAllError(undefined);
    try {
      await api.stopAll();
      setNotice('Stop all sent: every active experiment is being stopped.');
    } catch (err) {
      setStopAllError(toPanelError(err, 'stop all experiments'));
    } finally {
      void state.reload();
    }
  };

  // Success notices are transient; errors stay until dismissed.
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(undefined), NOTICE_MS);
    return () => clearTimeout(t);
  }, [notice]);

  const saveTemplates = (templates: LaunchTemplate[]) => onOptionsChange?.({ ...options, templates });
  const defaultNamespace = namespaces.length === 1 ? namespaces[0] : 'default';

  return (
    <div className={styles.wrapper} style={{ width, height }}>
      <div className={styles.toolbar}>
        <Stack direction="row" gap={2} alignItems="center">
          <span className={styles.summary}>
            {activeCount} active · {visible.length} shown
          </span>
          <LiveIndicator live={state.live} />
          {!canAct && (
            <Tooltip content="Editors and Admins can launch, pause and stop experiments.">
              <span className={styles.readOnly}>
                <Icon name="lock" size="sm" /> View only
              </span>
            </Tooltip>
          )}
        </Stack>
        {canAct && (
          <Stack direction="row" gap={1} alignItems="center">
            {options.showLaunch && (
              <Button size="sm" icon="plus" onClick={() => setLaunching(true)}>
                Launch experiment
              </Button>
            )}
            {!extra.freeze?.frozen && <FreezeButton onConfirm={freeze} />}
            <ConfirmStopAll activeCount={activeCount} onConfirm={stopAll} />
          </Stack>
        )}
      </div>

      {/* Grafana's Alert grows in a flex column: keep notices at their own height. */}
      <div className={styles.notices}>
        <FreezeBanner
          state={extra.freeze}
          canUnfreeze={isAdmin}
          error={unfreezeError}
          onUnfreeze={() => void unfreeze()}
          onDismissError={() => setUnfreezeError(undefined)}
        />
        {freezeError && (
          <Alert severity="error" title={freezeError.title} bottomSpacing={1} onRemove={() => setFreezeError(undefined)}>
            {freezeError.message}
          </Alert>
        )}
        {stopAllError && (
          <Alert severity="error" title={stopAllError.title} bottomSpacing={1} onRemove={() => setStopAllError(undefined)}>
            {stopAllError.message}
          </Alert>
        )}
        {notice && <Alert severity="success" title={notice} bottomSpacing={1} onRemove={() => setNotice(undefined)} />}
        {state.error && (
          <Alert severity="error" title={state.error.title} bottomSpacing={1}>
            {state.error.message}
          </Alert>
        )}
      </div>

      <div className={styles.scroll}>
        {state.loading && state.experiments.length === 0 ? (
          <LoadingPlaceholder text="Loading experiments…" />
        ) : visible.length === 0 && !state.error ? (
          <EmptyState variant="not-found" message="No experiments yet">
            {canAct ? 'Launch one to see how your system copes with a fault.' : 'Experiments launched from Faultline show up here.'}
          </EmptyState>
        ) : (
          visible.length > 0 && (
            <ExperimentList
              experiments={visible}
              events={events}
              columns={options.columns}
              canAct={canAct}
              now={now}
              timeZone={timeZone}
              rowErrors={rowErrors}
              busy={busy}
              reportHref={reportHref}
              onAction={(a, e) => void act(a, e)}
              onDismissError={(key) => setRowErrors((r) => ({ ...r, [key]: undefined }))}
            />
          )
        )}
        <WorkflowList
          workflows={visibleWorkflows}
          canAct={canAct}
          errors={workflowErrors}
          busy={workflowBusy}
          onAbort={(w) => void abortWorkflow(w)}
          onDismissError={(key) => setWorkflowErrors((r) => ({ ...r, [key]: undefined }))}
        />
        {options.eventCount > 0 && events.length > 0 && (
          <div className={styles.events}>
            <div className={styles.eventsTitle}>Latest events</div>
            <EventLines events={events.slice(0, options.eventCount)} timeZone={timeZone} showExperiment />
          </div>
        )}
      </div>

      {launching && canAct && (
        <Drawer title="Launch experiment" subtitle="Pick a fault, its targets and how long it runs." size="md" onClose={() => setLaunching(false)}>
          <LaunchForm
            api={api}
            namespace={defaultNamespace}
            templates={options.templates ?? []}
            canSaveTemplates={!!onOptionsChange}
            onSaveTemplate={(t) => saveTemplates([...(options.templates ?? []).filter((x) => x.name !== t.name), t])}
            onDeleteTemplate={(name) => saveTemplates((options.templates ?? []).filter((x) => x.name !== name))}
            onLaunched={(e) => {
              setLaunching(false);
              setNotice(`Launched ${keyOf(e)}.`);
              void state.reload();
            }}
            onCancel={() => setLaunching(false)}
          />
        </Drawer>
      )}
    </div>
  );
}

/** Active experiments first, in lifecycle order; then ended ones, newest first. */
function rank(e: Experiment): number {
  const i = ACTIVE_PHASES.indexOf(e.status.phase);
  return i >= 0 ? i : ACTIVE_PHASES.length;
}

function LiveIndicator({ live }: { live: LiveState }) {
  const styles = useStyles2(getStyles);
  const text = live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  const tip =
    live === 'down' ? 'The live event stream is interrupted; the list is refreshed every few seconds until it is back.' : 'Updates arrive as they happen.';
  return (
    <Tooltip content={tip}>
      <span className={styles.live} data-live={live}>
        <span className={live === 'live' ? styles.dotLive : styles.dotDown} /> {text}
      </span>
    </Tooltip>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(1), overflow: 'hidden' }),
  toolbar: css({ display: 'flex', justifyContent: 'space-between', alignItems: 'center', flexWrap: 'wrap', gap: theme.spacing(1) }),
  summary: css({ fontWeight: theme.typography.fontWeightMedium }),
  readOnly: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize, display: 'inline-flex', gap: theme.spacing(0.5), alignItems: 'center' }),
  notices: css({ flex: 'none', display: 'flex', flexDirection: 'column', '&:empty': { display: 'none' } }),
  scroll: css({ flex: 1, overflow: 'auto', minHeight: 0 }),
  events: css({ marginTop: theme.spacing(1.5), paddingTop: theme.spacing(1), borderTop: `1px solid ${theme.colors.border.weak}` }),
  eventsTitle: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize, fontWeight: theme.typography.fontWeightMedium, marginBottom: theme.spacing(0.5) }),
  live: css({ display: 'inline-flex', alignItems: 'center', gap: theme.spacing(0.5), color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
  dotLive: css({ width: 8, height: 8, borderRadius: '50%', background: theme.colors.success.main, boxShadow: `0 0 0 3px ${theme.colors.success.transparent}` }),
  dotDown: css({ width: 8, height: 8, borderRadius: '50%', background: theme.colors.warning.main }),
});
