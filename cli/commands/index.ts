import type { Command } from 'commander';
import { registerDaemon } from './daemon';
import { registerDemo } from './demo';
import { registerFreeze } from './freeze';
import { registerUnfreeze } from './unfreeze';

/** Each entry adds one subcommand (or a group) to the program. Alphabetical by file. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  registerDaemon,
  registerDemo,
  registerFreeze,
  registerUnfreeze,
];
