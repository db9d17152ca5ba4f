import { useCallback, useEffect, useRef, useState } from 'react';
import type { FreezeState } from '../../api/alerts';
import type { Workflow } from '../../api/workflow';
import type { FaultlineApi } from '../client/client';
import type { FaultlineEvent } from './types';

// Workflows and the freeze state ride on the experiment list's live events (no second stream):
// an event of kind "workflow" reloads the workflows, a frozen/unfrozen event the freeze state.
// Load failures are quiet: an older exporter without these routes just shows no section/banner.

const RELOAD_DEBOUNCE_MS = 150;

export interface WorkflowsAndFreeze {
  workflows: Workflow[];
  freeze?: FreezeState;
  reloadWorkflows: () => Promise<void>;
  reloadFreeze: () => Promise<void>;
}

export function useWorkflowsAndFreeze(api: FaultlineApi, events: FaultlineEvent[]): WorkflowsAndFreeze {
  const [workflows, setWorkflows] = useState<Workflow[]>([]);
  const [freeze, setFreeze] = useState<FreezeState>();
  const wfGeneration = useRef(0);
  const frGeneration = useRef(0);

  const reloadWorkflows = useCallback(async () => {
    const mine = ++wfGeneration.current;
    try {
      const list = await api.listWorkflows();
      if (mine === wfGeneration.current) setWorkflows(list);
    } catch {
      // keep the last list
    }
  }, [api]);

  const reloadFreeze = useCallback(async () => {
    const mine = ++frGeneration.current;
    try {
      const state = await api.freezeState();
      if (mine === frGeneration.current) setFreeze(state);
    } catch {
      // keep the last state
    }
  }, [api]);

  useEffect(() => {
    void reloadWorkflows();
    void reloadFreeze();
  }, [reloadWorkflows, reloadFreeze]);

  // The newest relevant event ids: a change means something happened since the last load.
  const lastWorkflowEvent = events.find((e) => e.kind === 'workflow' || e.type.startsWith('workflow-'))?.id;
  const lastFreezeEvent = events.find((e) => e.type === 'frozen' || e.type === 'unfrozen')?.id;
  useEffect(() => {
    if (lastWorkflowEvent === undefined) return;
    const t = setTimeout(() => void reloadWorkflows(), RELOAD_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [lastWorkflowEvent, reloadWorkflows]);
  useEffect(() => {
    if (lastFreezeEvent === undefined) return;
    const t = setTimeout(() => void reloadFreeze(), RELOAD_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [lastFreezeEvent, reloadFreeze]);

  return { workflows, freeze, reloadWorkflows, reloadFreeze };
}
