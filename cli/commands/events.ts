import type { Command } from 'commander';
import type { EventList } from '../../api/events';
import { Client, clientOptions, durationFlag, render, run } from '../client';
import { eventLine, eventsTable } from '../format';
import { followEvents } from '../sse';

// `faultline events [--follow]`: the event log, optionally followed live (SSE, reconnecting).
export function registerEvents(program: Command): void {
  clientOptions(
    program
      .command('events')
      .description('print events; --follow keeps streaming new ones')
      .option('-f, --follow', 'stream new events until interrupted')
      .option('-A, --all-namespaces', 'every namespace')
      .option('--experiment <name>', 'only this experiment')
      .option('--kind <kind>', 'only this fault kind')
      .option('--type <types>', 'only these event types (comma separated)')
      .option('--since <time>', 'from this RFC 3339 time or epoch ms')
      .option('--limit <n>', 'at most this many past events', '100')
      .option('--heartbeat-timeout <duration>', 'with --follow: reconnect when the exporter sends nothing (not even its 15 s heartbeat) for this long', '45s')
      .option('--reconnect-timeout <duration>', 'with --follow: exit 5 after this long without a working stream', '2m'),
  ).action(
    run(async (o: { server: string; token?: string; namespace: string; output: 'table' | 'json' | 'yaml'; follow?: boolean; allNamespaces?: boolean; experiment?: string; kind?: string; type?: string; since?: string; limit: string; heartbeatTimeout: string; reconnectTimeout: string }) => {
      const heartbeatTimeoutMs = durationFlag('--heartbeat-timeout', o.heartbeatTimeout);
      const giveUpAfterMs = durationFlag('--reconnect-timeout', o.reconnectTimeout);
      const client = new Client(o);
      const filters: Record<string, string> = {
        ...(o.allNamespaces ? {} : { namespace: o.namespace }),
        ...(o.experiment ? { experiment: o.experiment } : {}),
        ...(o.kind ? { kind: o.kind } : {}),
        ...(o.type ? { type: o.type } : {}),
      };
      // the newest `limit` events: page to the end, keep the tail
      let items: EventList['items'] = [];
      let after: string | undefined;
      for (;;) {
        const page = await client.get<EventList>(`/api/v1/events?${new URLSearchParams({ ...filters, ...(o.since ? { from: o.since } : {}), ...(after ? { after } : {}), limit: '10000' })}`);
        items = items.concat(page.items).slice(-Number(o.limit || 100));
        if (!page.nextCursor) break;
        after = page.nextCursor;
      }
      const line = (e: EventList['items'][number]) => (o.output === 'table' ? eventLine(e) : o.output === 'json' ? JSON.stringify(e) : render(e, 'yaml', () => '') + '\n---');
      if (!o.follow) {
        console.log(o.output === 'table' ? eventsTable(items) : render({ items }, o.output, () => ''));
        return;
      }
      for (const e of items) console.log(line(e));
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      // resume after what was printed; with nothing printed, replay from the start (the server bounds it) so nothing is missed in between
      const lastId = items.length ? items[items.length - 1].id : o.since ? undefined : 0;
      await followEvents(client, new URLSearchParams(filters), (e) => console.log(line(e)), ac.signal, {
        lastId,
        heartbeatTimeoutMs,
        giveUpAfterMs,
        onNotice: (m) => process.stderr.write(`faultline: ${m}\n`),
      });
    }),
  );
}
