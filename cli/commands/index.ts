import type { Command } from 'commander';
import { registerDaemon } from './daemon';
import { registerDemo } from './demo';
import { registerFreeze } from './freeze';
import { registerUnfreeze } from './unfreeze';
import { registerApply } from './apply';
import { registerDelete } from './delete';
import { registerDescribe } from './describe';
import { registerEvents } from './events';
import { registerExporter } from './exporter';
import { registerGet } from './get';
import { registerImport } from './import';
import { registerPause } from './pause';
import { registerReport } from './report';
import { registerResume } from './resume';
import { registerRun } from './run';
import { registerStart } from './start';
import { registerStop } from './stop';

/** Each entry adds one subcommand (or a group) to the program. Alphabetical by file. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  registerApply,
  registerDaemon,
  registerDelete,
  registerDemo,
  registerDescribe,
  registerEvents,
  registerExporter,
  registerFreeze,
  registerGet,
  registerImport,
  registerPause,
  registerReport,
  registerResume,
  registerRun,
  registerStart,
  registerStop,
  registerUnfreeze,
];
