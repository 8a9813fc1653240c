// Extensionless import: jest loads global setup with plain require, without the moduleNameMapper that strips `.js`.
import { existsSync } from 'node:fs';
import { FERRETDB_BINARY, startFerretDb, type MongoTestServer } from './mongo-server';

/** Set on the global object for test/global-teardown.ts (jest runs both in the same process). */
export interface TestServersGlobal {
  tributaryMongoServer?: MongoTestServer;
}

/**
 * Jest global setup: provides the MongoDB-wire server the MongoDB suites run against, through
 * `TRIBUTARY_TEST_MONGODB_URI`, which test workers inherit (they start after this returns).
 *
 * - `MONGODB_URI` set: that server is used (a real MongoDB).
 * - else the FerretDB binary built by `scripts/build-ferretdb.sh` exists: it is started.
 * - else the MongoDB suites are skipped, with one line saying so; `TRIBUTARY_REQUIRE_MONGODB=1`
 *   (CI) turns that into a failure.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.TRIBUTARY_TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  if (!existsSync(FERRETDB_BINARY)) {
    delete process.env.TRIBUTARY_TEST_MONGODB_URI;
    const message =
      'MongoDB suites skipped: MONGODB_URI is not set and no FerretDB test server is built; `bash scripts/build-ferretdb.sh` (needs Go) enables them.';
    if (process.env.TRIBUTARY_REQUIRE_MONGODB === '1') throw new Error(`TRIBUTARY_REQUIRE_MONGODB=1: ${message}`);
    process.stdout.write(`\n${message}\n`);
    return;
  }
  const server = await startFerretDb();
  (globalThis as TestServersGlobal).tributaryMongoServer = server;
  process.env.TRIBUTARY_TEST_MONGODB_URI = server.uri;
}
