import { useCallback, useEffect, useRef, useState } from 'react';
import type { FaultlineApi } from '../client/client';
import { toPanelError, type PanelError } from './errors';
import type { Experiment, FaultlineEvent } from './types';

// Keeps the list current from the data source's event stream: every event triggers one (debounced)
// reload of the list, so the panel never needs a refresh button. If the stream breaks, the list is
// polled until it can be resubscribed.

export type LiveState = 'connecting' | 'live' | 'down';

const EVENTS_KEPT = 100;
const RELOAD_DEBOUNCE_MS = 150;
const RETRY_MS = 5000;

export interface ExperimentsState {
  experiments: Experiment[];
  events: FaultlineEvent[];
  loading: boolean;
  error?: PanelError;
  live: LiveState;
  reload: () => Promise<void>;
}

/** The dashboard's time range in epoch ms; a refresh of a relative range moves it. */
export interface Range {
  from: number;
  to: number;
}

/**
 * The list, the latest events of `range` and the live state. A new range (time picker, dashboard
 * refresh) reloads both; the live stream stays open across them.
 */
export function useExperiments(api: FaultlineApi | undefined, range?: Range): ExperimentsState {
  const [experiments, setExperiments] = useState<Experiment[]>([]);
  const [events, setEvents] = useState<FaultlineEvent[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<PanelError>();
  const [live, setLive] = useState<LiveState>('connecting');
  const generation = useRef(0);

  const reload = useCallback(async () => {
    if (!api) return;
    // Answers may arrive out of order; only the newest request may set the list.
    const mine = ++generation.current;
    try {
      const list = await api.listExperiments();
      if (mine !== generation.current) return;
      setExperiments(list);
      setError(undefined);
    } catch (err) {
      if (mine === generation.current) setError(toPanelError(err, 'load the experiments'));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [api]);

  useEffect(() => {
    if (!api) return;
    let closed = false;
    let debounce: ReturnType<typeof setTimeout> | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    let subscription: { unsubscribe(): void } | undefined;

    const scheduleReload = () => {
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => void reload(), RELOAD_DEBOUNCE_MS);
    };

    const subscribe = () => {
      setLive('connecting');
      try {
        subscription = api.events().subscribe({
          next: (event) => {
            setLive('live');
            setEvents((prev) => mergeEvents(prev, [event]));
            scheduleReload();
          },
          error: () => streamDown(),
          complete: () => streamDown(),
        });
        // The stream says nothing until something happens; having subscribed without an error is "live".
        if (!closed) setTimeout(() => !closed && setLive((s) => (s === 'connecting' ? 'live' : s)), 500);
        if (poll) {
          clearInterval(poll);
          poll = undefined;
        }
      } catch {
        streamDown();
      }
    };

    const streamDown = () => {
      if (closed) return;
      setLive('down');
      subscription = undefined;
      if (!poll) poll = setInterval(() => void reload(), RETRY_MS);
      if (retry) clearTimeout(retry);
      retry = setTimeout(() => !closed && subscribe(), RETRY_MS * 2);
    };

    setLoading(true);
    subscribe();
    return () => {
      closed = true;
      subscription?.unsubscribe();
      for (const t of [debounce, retry]) if (t) clearTimeout(t);
      if (poll) clearInterval(poll);
    };
  }, [api, reload]);

  // The list and the events of the dashboard's range: again whenever the range moves (refresh).
  const from = range?.from;
  const to = range?.to;
  useEffect(() => {
    if (!api) return;
    let gone = false;
    void reload();
    // History for the event list; the stream only tells what happens from now on.
    api.recentEvents(EVENTS_KEPT, from !== undefined && to !== undefined ? { from, to } : undefined).then(
      (past) => !gone && setEvents((prev) => mergeEvents(from === undefined ? prev : prev.filter((e) => Date.parse(e.time) >= from), past)),
      () => undefined, // the list's own error says enough when the exporter is down
    );
    return () => {
      gone = true;
    };
  }, [api, reload, from, to]);

  return { experiments, events, loading, error, live, reload };
}

/** Newest first, each id once, at most EVENTS_KEPT. */
function mergeEvents(a: FaultlineEvent[], b: FaultlineEvent[]): FaultlineEvent[] {
  const byId = new Map<string, FaultlineEvent>();
  for (const e of [...a, ...b]) byId.set(String(e.id), e);
  return [...byId.values()].sort((x, y) => Number(y.id) - Number(x.id)).slice(0, EVENTS_KEPT);
}

/** Re-renders every `ms` so "time left" counts down. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
