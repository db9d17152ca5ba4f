import type { Static } from '@sinclair/typebox';
import type { Toxic } from '../../../api/proxy';

// The one interface every toxic implements (Toxiproxy's `Pipe`): a stage that turns the chunk stream
// of one direction of one connection into another chunk stream. Rules for writing one are in
// ../README.md: never drop data unless that is the fault, stop waiting when `link.signal` aborts,
// keep chunk order.

/** Bytes read from one side, stamped with their arrival time (performance.now() ms). */
export interface Chunk {
  data: Buffer;
  t: number;
}

/** What a toxic may do to the connection as a whole. */
export interface LinkControl {
  /** Aborted when the connection is gone (or the proxy drains): stop sleeping and return. */
  signal: AbortSignal;
  /** Ends both sides gracefully (FIN) once this direction has written what it yielded. */
  closeWhenFlushed(): void;
  /** Ends both sides now (FIN), dropping what is in flight. */
  close(): void;
  /** Resets both sides now (RST: "connection reset by peer"). */
  reset(): void;
}

export type ToxicStage = (input: AsyncIterable<Chunk>, link: LinkControl) => AsyncIterable<Chunk>;

export type ToxicParams = Static<typeof Toxic>;

export interface ToxicDefinition {
  type: ToxicParams['type'];
  /** Builds the stage from validated attributes (parses units once, not per chunk). */
  create(params: ToxicParams): ToxicStage;
}

export function defineToxic(def: ToxicDefinition): ToxicDefinition {
  return def;
}
