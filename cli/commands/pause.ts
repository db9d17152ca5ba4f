import type { Command } from 'commander';
import { actionCommand } from '../actions';

// `faultline pause NAME...`: recover the faults of running experiments and keep them paused (a schedule: suspend it).
export function registerPause(program: Command): void {
  actionCommand(program, 'pause', 'recover the faults of running experiments and keep them paused (a schedule: suspend it)', 'paused');
}
