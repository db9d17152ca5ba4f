import { EventEmitter } from 'node:events';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, type KubeClient } from './client';

// One leader among several exporter replicas, with a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection does: the holder renews `renewTime` every `retryPeriod`; a candidate takes the lease
// over only after it has seen the same record unchanged for `leaseDuration` on its *own* clock (so
// clock skew between nodes does not matter); every write carries the resourceVersion it read, so two
// candidates racing for an expired lease cannot both win (the API server answers 409 to the loser).
// A leader that cannot renew within `renewDeadline` steps down before anyone else may take over.

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: Logger;
  /** Injectable clock (ms) for tests. */
  now?: () => number;
}

export interface LeaderElectorEvents {
  started: [];
  stopped: [];
}

export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  private leader = false;
  private timer?: NodeJS.Timeout;
  private observed?: { key: string; at: number };
  private lastRenew = 0;
  private running = false;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderOptions,
  ) {
    super();
    this.leaseDurationSeconds = opts.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** One attempt to acquire or renew; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = this.now();
    let current: V1Lease | undefined;
    try {
      current = await this.client.getLease(namespace, name);
    } catch (err) {
      return this.failedRenew(err);
    }
    const micro = () => new V1MicroTime(now);
    if (!current) {
      try {
        await this.client.createLease(namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationSeconds, acquireTime: micro(), renewTime: micro(), leaseTransitions: 0 },
        });
        return this.won(now);
      } catch (err) {
        if (isConflict(err)) return this.lost(); // another replica created it first
        return this.failedRenew(err);
      }
    }

    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    // Remember when we first saw this exact record, by our own clock.
    const key = `${holder}|${String(spec.renewTime ?? '')}|${current.metadata?.resourceVersion ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const duration = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    if (holder && holder !== identity && this.observed.at + duration > now) return this.lost();

    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await this.client.replaceLease(namespace, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion: current.metadata?.resourceVersion },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: this.leaseDurationSeconds,
          acquireTime: holder === identity && spec.acquireTime ? new V1MicroTime(new Date(String(spec.acquireTime)).getTime()) : micro(),
          renewTime: micro(),
          leaseTransitions: transitions,
        },
      });
      return this.won(now);
    } catch (err) {
      if (isConflict(err)) return this.lost(); // someone wrote between our read and write
      return this.failedRenew(err);
    }
  }

  private won(now: number): boolean {
    this.lastRenew = now;
    if (!this.leader) {
      this.leader = true;
      this.opts.log?.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
      this.emit('started');
    }
    return true;
  }

  private lost(): boolean {
    if (this.leader) this.stepDown('another replica holds the lease');
    return false;
  }

  private failedRenew(err: unknown): boolean {
    this.opts.log?.warn({ err: (err as Error).message }, 'lease request failed');
    if (this.leader && this.now() - this.lastRenew > this.renewDeadlineMs) this.stepDown('could not renew within the renew deadline');
    return this.leader;
  }

  private stepDown(reason: string): void {
    this.leader = false;
    this.opts.log?.warn({ reason }, 'stopped leading');
    this.emit('stopped');
  }

  /** Tries now and then every retryPeriod until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      await this.tryAcquireOrRenew();
      if (this.running) this.timer = setTimeout(tick, this.retryPeriodMs);
    };
    void tick();
  }

  /** Stops campaigning; a leader releases the lease (empty holder) so a successor need not wait. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    this.leader = false;
    this.emit('stopped');
    try {
      const current = await this.client.getLease(this.opts.namespace, this.opts.name);
      if (current?.spec?.holderIdentity !== this.opts.identity) return;
      await this.client.replaceLease(this.opts.namespace, {
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) },
      });
    } catch (err) {
      this.opts.log?.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }
}
