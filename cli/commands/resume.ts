import type { Command } from 'commander';
import { actionCommand } from '../actions';

// `faultline resume NAME...`: inject the faults of paused experiments again (a schedule: resume it).
export function registerResume(program: Command): void {
  actionCommand(program, 'resume', 'inject the faults of paused experiments again (a schedule: resume it)', 'resumed');
}
