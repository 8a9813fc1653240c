import type { TestServersGlobal } from './global-setup';

/** Jest global teardown: stops the FerretDB server global setup started, if any. */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as TestServersGlobal;
  const server = holder.tributaryMongoServer;
  delete holder.tributaryMongoServer;
  await server?.stop();
}
