import type { Command } from 'commander';
import { actionCommand } from '../actions';

// `faultline delete NAME...`: stop (recovering every target) and delete experiments.
export function registerDelete(program: Command): void {
  actionCommand(program, 'delete', 'stop (recovering every target) and delete experiments', 'deleted');
}
