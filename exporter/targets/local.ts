import { access } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { CgroupPath, InterfaceName, NetnsRef } from '../../api/common';
import type { DaemonTarget } from '../../api/daemon';
import { ApiError, type ErrorDetail } from '../../api/errors';
import { compileUserRegex, RegexString } from '../../api/regex';
import type { ExperimentSpec } from '../../api/experiment';
import { kindSpec } from '../../api/kinds/index';
import type { TargetCandidate } from '../../api/targets';
import { validate } from '../../api/validate';
import type { DaemonClient, DaemonRegistry } from '../daemons';
import { checkModeValue, pickByMode, type Mode } from './mode';
import type { Resolution, ResolvedTarget, TargetResolver } from './types';

// Local mode: processes (by pid or name regex), cgroups and network namespaces on the configured
// daemons' hosts, optionally narrowed to some daemons. A process selector becomes one target per
// matching process, pinned by pid and start time, when the processes can be listed: by the daemon
// (`GET /v1/targets`). A daemon that cannot list them (down, or one that lacks the route) gets the
// selector itself as one target, resolved when it injects. The mode then picks its share of all targets.

const SEL = '/spec/targets/selector';

/** The local selector without Kubernetes fields: unknown fields are errors here. */
const StrictLocalSelector = Type.Object(
  {
    pids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1024 })),
    processName: Type.Optional(RegexString('regular expression over the process name (comm) and command line', { maxLength: 256 })),
    cgroups: Type.Optional(Type.Array(CgroupPath, { maxItems: 256 })),
    netns: Type.Optional(Type.Array(NetnsRef, { maxItems: 256 })),
    interface: Type.Optional(InterfaceName),
    daemons: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 256 })),
  },
  { additionalProperties: false },
);

interface Proc {
  pid: number;
  pidStartTime?: number;
  processName?: string;
  cmdline?: string;
}

const pathExists = (p: string) => access(p).then(
  () => true,
  () => false,
);

const invalid = (field: string, reason: string) => ApiError.invalid(`invalid experiment: ${field} ${reason}`, [{ field, reason }]);

export class LocalTargets implements TargetResolver {
  constructor(private readonly daemons: DaemonRegistry) {}

  /** Pids a selector must never reach on this host: pid 1, the exporter, its parent, the local daemons. */
  private protectedPids(): Set<number> {
    const s = new Set([1, process.pid, process.ppid]);
    for (const d of this.daemons.clients) if (d.info?.pid && this.isLocal(d)) s.add(d.info.pid);
    return s;
  }

  private isLocal(d: DaemonClient): boolean {
    const host = new URL(d.base).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
  }

  /** Processes on the daemon's host (narrowed by the daemon to `pids` or a `processName`), or undefined when it cannot list them. */
  private async processes(d: DaemonClient, narrow: { pids?: number[]; processName?: string }): Promise<Proc[] | undefined> {
    if (!d.up) return undefined;
    try {
      const listed = await d.listTargets(narrow);
      return listed?.filter((t) => t.pid !== undefined) as Proc[] | undefined;
    } catch {
      return undefined;
    }
  }

  async resolve(_namespace: string, spec: ExperimentSpec): Promise<Resolution> {
    const kind = kindSpec(spec.fault.kind);
    if (!kind) throw invalid('/spec/fault/kind', `is not a known fault kind`);
    if (kind.scope === 'pod') throw invalid('/spec/fault/kind', `${kind.kind} acts on Kubernetes pods and needs the exporter in Kubernetes mode`);
    const targets = spec.targets ?? { selector: {}, mode: 'all' };
    const sel = validate(StrictLocalSelector, structuredClone(targets.selector ?? {}), 'experiment', SEL);
    const mode = (targets.mode ?? 'all') as Mode;
    checkModeValue(mode, targets.value);
    // RE2, the engine the daemon uses too: linear over command lines, and the same matches on both sides.
    const nameRe = sel.processName === undefined ? undefined : compileUserRegex(sel.processName, { anchored: false, field: `${SEL}/processName` });
    const selectsProcesses = !!(sel.pids?.length || sel.processName || sel.cgroups?.length);
    if (kind.scope === 'process' && !selectsProcesses) {
      throw invalid(SEL, `needs pids, processName or cgroups: ${kind.kind} acts on processes`);
    }
    if (kind.targetRequired && !selectsProcesses && !sel.netns?.length) {
      throw invalid(SEL, `needs pids, processName, cgroups or netns for ${kind.kind}`);
    }

    let daemons = this.daemons.clients;
    if (sel.daemons?.length) {
      const details: ErrorDetail[] = [];
      sel.daemons.forEach((n, i) => {
        if (!this.daemons.byName(n)) details.push({ field: `${SEL}/daemons/${i}`, reason: `no daemon named ${n} (known: ${this.daemons.clients.map((c) => c.name).join(', ') || 'none'})` });
      });
      if (details.length) throw ApiError.invalid(`invalid experiment: ${details[0].field} ${details[0].reason}`, details);
      daemons = daemons.filter((d) => sel.daemons!.includes(d.name));
    }
    if (daemons.length === 0) throw invalid(SEL, 'matches no target: the exporter has no daemons configured');
    const unsupported = daemons.filter((d) => d.info?.kinds.find((k) => k.kind === kind.kind)?.supported === false);
    daemons = daemons.filter((d) => !unsupported.includes(d));
    if (daemons.length === 0) {
      const why = unsupported.map((d) => `${d.name}: ${d.info?.kinds.find((k) => k.kind === kind.kind)?.reason ?? 'unsupported'}`).join('; ');
      throw ApiError.unprocessable(`${kind.kind} is not supported on the selected daemons (${why})`, [{ field: '/spec/fault/kind', reason: `not supported: ${why}` }]);
    }

    const protectedPids = this.protectedPids();
    sel.pids?.forEach((pid, i) => {
      if (protectedPids.has(pid)) throw invalid(`${SEL}/pids/${i}`, `is protected (pid 1, the exporter or a daemon)`);
    });
    const units: ResolvedTarget[] = [];
    const extra: Partial<DaemonTarget> = sel.interface ? { interface: sel.interface } : {};
    for (const d of daemons) {
      // The daemon narrows its listing; with pids as well, the name cannot narrow (pids ∪ name matches).
      const procs = nameRe
        ? await this.processes(d, sel.pids?.length ? {} : { processName: sel.processName })
        : sel.pids?.length
          ? await this.processes(d, { pids: sel.pids })
          : undefined;
      const seen = new Set<number>();
      const addProc = (p: Proc) => {
        if (seen.has(p.pid)) return;
        seen.add(p.pid);
        units.push({
          daemon: d.name,
          target: { pid: p.pid, ...(p.pidStartTime !== undefined ? { pidStartTime: p.pidStartTime } : {}), ...extra },
          description: `pid ${p.pid}${p.processName ? ` (${p.processName})` : ''} on ${d.name}`,
          ...(p.processName ? { processName: p.processName } : {}),
        });
      };
      for (const pid of sel.pids ?? []) {
        if (!procs) addProc({ pid });
        else {
          const p = procs.find((x) => x.pid === pid);
          if (p) addProc(p);
        }
      }
      if (nameRe) {
        if (procs) {
          for (const p of procs) {
            if (protectedPids.has(p.pid) && this.isLocal(d)) continue;
            // Listed by name already (the daemon matched the whole command line, we get 512 chars of it).
            if (!sel.pids?.length || nameRe.test(p.processName ?? '') || (p.cmdline && nameRe.test(p.cmdline))) addProc(p);
          }
        } else {
          units.push({ daemon: d.name, target: { processName: sel.processName!, ...extra }, description: `processes matching /${sel.processName}/ on ${d.name}` });
        }
      }
      for (const cg of sel.cgroups ?? []) {
        if (this.isLocal(d) && d.info && !(await pathExists(`/sys/fs/cgroup/${cg.replace(/^\/+/, '')}`))) continue;
        units.push({ daemon: d.name, target: { cgroup: cg, ...extra }, description: `cgroup ${cg} on ${d.name}` });
      }
      if (!selectsProcesses) {
        for (const ns of sel.netns ?? []) {
          if (this.isLocal(d) && d.info && !(await pathExists(ns.startsWith('/proc/') ? ns : `/run/netns/${ns}`))) continue;
          units.push({ daemon: d.name, target: { netns: ns, ...extra }, description: `netns ${ns}${sel.interface ? ` dev ${sel.interface}` : ''} on ${d.name}` });
        }
        if (!sel.netns?.length) units.push({ daemon: d.name, target: { ...extra }, description: `host ${d.name}${sel.interface ? ` dev ${sel.interface}` : ''}` });
      } else if (sel.netns?.length) {
        // processes and a namespace: the namespace narrows where network kinds act
        for (const u of units) if (!u.target.netns && u.daemon === d.name) u.target.netns = sel.netns[0];
      }
    }
    if (units.length === 0) {
      throw invalid(SEL, `matches no target on ${daemons.map((d) => d.name).join(', ')}`);
    }
    const selected = pickByMode(units, mode, targets.value);
    if (selected.length === 0) throw invalid('/spec/targets/value', `selects none of the ${units.length} matching targets with mode ${mode}`);
    return { selected, candidates: units.length };
  }

  async candidates(): Promise<TargetCandidate[]> {
    const out: TargetCandidate[] = [];
    const protectedPids = this.protectedPids();
    for (const d of this.daemons.clients) {
      if (!d.up) continue;
      const listed = await d.listTargets().catch(() => undefined);
      for (const t of listed ?? []) {
        // the daemon leaves out what it protects; on this host the exporter protects itself too
        if (t.pid !== undefined && protectedPids.has(t.pid) && this.isLocal(d)) continue;
        out.push({ ...t, daemon: d.name, description: `${t.description} on ${d.name}` });
      }
    }
    return out;
  }
}
