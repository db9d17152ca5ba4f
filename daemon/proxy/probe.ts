import net from 'node:net';
import type { Endpoint } from './endpoint';

// Short checks made before a proxy starts, so a fault that could not work fails at once with a
// reason instead of leaving a proxy that forwards into nothing.

/** Resolves undefined when a TCP connection to `e` opens within `timeoutMs`, else the reason. */
export function probeConnect(e: Endpoint, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host: e.host, port: e.port });
    const done = (reason: string | undefined) => {
      s.destroy();
      resolve(reason);
    };
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    s.once('connect', () => done(undefined));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** Resolves the error code when `e` cannot be listened on (e.g. EADDRINUSE), undefined when it can. */
export function probeListen(e: Endpoint): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host: e.host, port: e.port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}
