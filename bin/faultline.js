#!/usr/bin/env node
// The `faultline` command. Sources are TypeScript run through tsx, so the same files serve
// the CLI, the services and the tests without a separate server build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
