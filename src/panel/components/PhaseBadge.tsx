import React from 'react';
import { Badge, type BadgeColor, type IconName } from '@grafana/ui';
import type { StepPhase, WorkflowPhase } from '../../../api/workflow';
import type { Phase, TargetStatus } from '../types';

// One colour per phase, the same in the list, the details and the tests: orange while a fault is
// in place, blue when it is held, green when it ended well, red when a guard or an error ended it.

const PHASE_STYLE: Record<Phase | WorkflowPhase | StepPhase, { color: BadgeColor; icon: IconName; tooltip: string }> = {
  Pending: { color: 'darkgrey', icon: 'clock-nine', tooltip: 'Waiting to start' },
  Injecting: { color: 'purple', icon: 'sync', tooltip: 'Faults are being injected' },
  Running: { color: 'orange', icon: 'fire', tooltip: 'Faults are in place' },
  Paused: { color: 'blue', icon: 'pause', tooltip: 'Faults are reverted until resumed' },
  Recovering: { color: 'purple', icon: 'sync', tooltip: 'Faults are being reverted' },
  Finished: { color: 'green', icon: 'check', tooltip: 'Ran its duration (or was stopped) and recovered' },
  Aborted: { color: 'red', icon: 'exclamation-triangle', tooltip: 'Stopped by a guard or stop-all' },
  Failed: { color: 'red', icon: 'times', tooltip: 'Could not inject or recover' },
  // Workflows and their steps.
  Succeeded: { color: 'green', icon: 'check', tooltip: 'Every step passed' },
  Skipped: { color: 'darkgrey', icon: 'minus', tooltip: 'Not run: the workflow ended before it' },
};

const TARGET_STYLE: Record<TargetStatus['phase'], BadgeColor> = {
  Pending: 'darkgrey',
  Injecting: 'purple',
  Injected: 'orange',
  Recovering: 'purple',
  Recovered: 'green',
  Failed: 'red',
  Unreachable: 'orange',
  Gone: 'darkgrey',
};

export function PhaseBadge({ phase, reason }: { phase: Phase | WorkflowPhase | StepPhase; reason?: string }) {
  const style = PHASE_STYLE[phase] ?? PHASE_STYLE.Pending;
  return <Badge text={phase} color={style.color} icon={style.icon} tooltip={reason ? `${style.tooltip}: ${reason}` : style.tooltip} />;
}

export function TargetPhaseBadge({ phase, error }: { phase: TargetStatus['phase']; error?: string }) {
  return <Badge text={phase} color={TARGET_STYLE[phase] ?? 'darkgrey'} tooltip={error} />;
}
