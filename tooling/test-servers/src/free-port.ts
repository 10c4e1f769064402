import { createServer } from 'node:net';

/** Resolves with whether `port` on `host` can be listened on right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * A port that was free a moment ago: the kernel picks one for port 0 and we release it.
 * Another process can take it before our server binds, so callers retry on EADDRINUSE.
 */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => {
        if (error) reject(error);
        else if (port === 0) reject(new Error('The kernel did not report the port it chose.'));
        else resolve(port);
      });
    });
  });
}

/**
 * A free port `p` such that `p + offset` is free too. Redis Cluster listens on its bus
 * port, `port + 10000`, and refuses to start when that one is taken.
 */
export async function getFreePortWithBus(offset = 10_000, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await getFreePort(host);
    if (port + offset > 65_535) continue;
    if (await isPortFree(port + offset, host)) return port;
  }
  throw new Error(`Could not find a free port whose bus port (+${offset}) is free too.`);
}
