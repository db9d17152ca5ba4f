import type { Command } from 'commander';

// Every subcommand is one file in this folder, listed here with a one-line summary. The file is
// imported only when its command runs (or its help is asked for): `faultline --help` and the client
// commands never load express, SQLite, the daemon or the Kubernetes client. Alphabetical by name.

export type RegisterCommand = (program: Command) => void;

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<RegisterCommand>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'apply', summary: 'create the experiments, schedules and workflows in a YAML or JSON file', load: async () => (await import('./apply')).registerApply },
  { name: 'daemon', summary: 'run the node daemon that injects and reverts faults on this host', load: async () => (await import('./daemon')).registerDaemon },
  { name: 'delete', summary: 'stop and delete experiments', load: async () => (await import('./delete')).registerDelete },
  { name: 'demo', summary: 'run the demo service (HTTP API, backend, load generator)', load: async () => (await import('./demo')).registerDemo },
  { name: 'describe', summary: 'show one experiment in detail, with its targets and events', load: async () => (await import('./describe')).registerDescribe },
  { name: 'events', summary: 'print events; --follow keeps streaming new ones', load: async () => (await import('./events')).registerEvents },
  { name: 'exporter', summary: 'run the exporter driving the given node daemons', load: async () => (await import('./exporter')).registerExporter },
  { name: 'freeze', summary: 'emergency freeze: stop every experiment and refuse new chaos', load: async () => (await import('./freeze')).registerFreeze },
  { name: 'get', summary: 'list experiments, workflows, events, fault kinds or targets', load: async () => (await import('./get')).registerGet },
  { name: 'import', summary: 'convert Chaos Mesh YAML into Faultline experiments', load: async () => (await import('./import')).registerImport },
  { name: 'inject', summary: 'inject one fault now: faultline inject network-loss --percent 30 --netns shop --for 2m', load: async () => (await import('./inject')).registerInject },
  { name: 'pause', summary: 'recover the faults of running experiments and keep them paused', load: async () => (await import('./pause')).registerPause },
  { name: 'report', summary: 'what one experiment run did, and what it did to the application', load: async () => (await import('./report')).registerReport },
  { name: 'resume', summary: 'inject the faults of paused experiments again', load: async () => (await import('./resume')).registerResume },
  { name: 'run', summary: 'start one experiment from a file; --wait waits for its end', load: async () => (await import('./run')).registerRun },
  { name: 'start', summary: 'run the exporter with an embedded local daemon (npm start)', load: async () => (await import('./start')).registerStart },
  { name: 'stop', summary: 'recover and end experiments; --all aborts every active one', load: async () => (await import('./stop')).registerStop },
  { name: 'unfreeze', summary: 'lift the emergency freeze', load: async () => (await import('./unfreeze')).registerUnfreeze },
];

/** Registers every command in full (loads every file): for tests and tools that inspect all flags. */
export async function registerAll(program: Command): Promise<void> {
  for (const c of COMMANDS) (await c.load())(program);
}
