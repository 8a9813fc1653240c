import { randomBytes } from 'node:crypto';

/**
 * The MongoDB server the tests use: `MONGODB_URI` (a real MongoDB) or the FerretDB server jest's
 * global setup started (`TRIBUTARY_TEST_MONGODB_URI`); undefined when neither is available.
 */
export const mongoUri: string | undefined = process.env.MONGODB_URI || process.env.TRIBUTARY_TEST_MONGODB_URI || undefined;

/** Why the MongoDB suites are skipped, shown in the skipped suite's name. */
export const MONGODB_SKIP_REASON =
  'skipped: no MongoDB server (set MONGODB_URI, or run `bash scripts/build-ferretdb.sh` (needs Go) to build the FerretDB test server)';

/**
 * `describe` when a MongoDB server is available, otherwise a skipped suite whose name says why.
 *
 * @example
 * ```ts
 * describeMongo('MongoContentStore', () => { test('…', async () => { new MongoContentStore(mongoUri!, { database: testDatabaseName('x') }) }) });
 * ```
 */
export function describeMongo(name: string, body: () => void): void {
  if (mongoUri !== undefined) describe(name, body);
  else describe.skip(`${name} (${MONGODB_SKIP_REASON})`, body);
}

/** A database name no other test (or earlier run against the same server) uses. */
export function testDatabaseName(label: string): string {
  const safe = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  return `tributary_test_${safe}_${randomBytes(5).toString('hex')}`;
}
