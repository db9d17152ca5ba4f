import type { Socket } from 'node:net';
import { cancelRelay, relayInKernel, type RelayEnd } from './splice';

// One proxied connection that no toxic touches, relayed by the kernel (splice.ts) once the upstream
// has connected. Until then, and if the hand-over is refused, Node owns both sockets as usual.

export class KernelLink {
  private relayId?: number;
  private closed = false;
  private readonly onError = () => this.destroy();

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly onClose: () => void,
  ) {
    // Before the hand-over only connecting can fail (refused, unreachable): the client goes too.
    for (const s of [client, upstream]) s.on('error', this.onError);
    upstream.once('close', () => {
      if (this.relayId === undefined) this.destroy();
    });
  }

  /** Hands the connected pair to the kernel; false (listeners removed) when it cannot be done. */
  handOver(): boolean {
    if (this.closed) return true;
    const id = relayInKernel(this.client, this.upstream, (end) => this.ended(end));
    if (id === undefined) {
      for (const s of [this.client, this.upstream]) s.off('error', this.onError);
      return false;
    }
    this.relayId = id;
    return true;
  }

  private ended(end: RelayEnd): void {
    // A reset passes on as a reset, as the user-space path does; anything else closes both.
    if (end.error === 'ECONNRESET') {
      for (const s of [this.client, this.upstream]) if (!s.destroyed) s.resetAndDestroy();
    }
    this.destroy();
  }

  destroy(): void {
    if (this.relayId !== undefined) cancelRelay(this.relayId);
    this.client.destroy();
    this.upstream.destroy();
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
