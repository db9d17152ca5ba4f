// `faultline start` with token auth (FAULTLINE_TOKENS=name:role:secret,...), for the tests of
// 401/403 handling: a real daemon and a real exporter wired to it with the real auth middleware.
// Usage: node bin/run-ts.js tests/plugin/helpers/exporter-main.ts DATA_DIR
// Prints "faultline exporter listening on URL" like `faultline start` and runs until SIGTERM.
import path from 'node:path';
import pino from 'pino';
import { startDaemon } from '../../../daemon/index';
import { startExporter } from '../../../exporter/index';
import { authMiddleware } from '../../../exporter/auth/middleware';
import { loadTokens } from '../../../exporter/auth/tokens';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: exporter-main.ts DATA_DIR');
const logger = pino({ level: 'warn' });
const daemon = await startDaemon({ listen: '127.0.0.1:0', stateDir: path.join(dataDir, 'daemon'), logger: logger.child({ name: 'daemon' }) });
const tokens = loadTokens({ env: process.env.FAULTLINE_TOKENS });
const exporter = await startExporter({
  listen: '127.0.0.1:0',
  dataDir: path.join(dataDir, 'exporter'),
  daemons: [{ url: daemon.url, name: 'local' }],
  logger,
  ...(tokens.size > 0 ? { auth: authMiddleware({ tokens, publicPaths: ['/api/v1/health', '/metrics'] }) } : {}),
});
process.stdout.write(`faultline exporter listening on ${exporter.url}\n`);
const stop = async () => {
  await exporter.close({ recover: true });
  await daemon.shutdown({ recover: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
