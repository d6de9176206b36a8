/**
 * The HTTP plumbing every local endpoint shares (EC2, CloudWatch Logs, Lambda, the DynamoDB
 * engine): listen on loopback, stop with keep-alive connections still open, and the dummy
 * credentials their SDK clients sign with.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What an SDK client of a local endpoint signs with (the endpoints do not check signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Listens on 127.0.0.1 (`port` 0: any free port); the endpoint URL. Rejects on a listen error. */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server`, ending its idle keep-alive connections first (SDK clients keep them open). */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
