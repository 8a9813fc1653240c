import { createServer } from 'node:net';
import { Long, MongoClient } from 'mongodb';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { MongoContentStore } from '../src/store/mongodb/mongodb-content-store.js';
import type { UnitWrite } from '../src/store/content-store.js';
import { unitIdFor } from '../src/store/unit-id.js';
import { describeMongo, mongoUri, testDatabaseName } from '../../../test/mongo-uri.js';

// What the store conformance suite cannot say about a store in general: several hosts sharing one
// MongoDB database, field names MongoDB restricts, connection strings and failures.

const unit = (name: string, metadata: Record<string, unknown> = {}, sha256: string | null = null): UnitWrite => ({
  unitId: unitIdFor('file', name),
  typeId: 'file',
  key: { name },
  metadata,
  artifacts: [{ relativePath: `files/${name}`, sha256 }],
});
const sha = (i: number) => i.toString(16).padStart(64, '0');

describeMongo('MongoContentStore', () => {
  let admin: MongoClient;
  const opened: { store: MongoContentStore; client?: MongoClient }[] = [];
  const databases: string[] = [];

  beforeAll(() => {
    admin = new MongoClient(mongoUri!);
  });
  afterEach(async () => {
    for (const { store, client } of opened.splice(0)) {
      await store.close();
      await client?.close();
    }
    for (const database of databases.splice(0)) await admin.db(database).dropDatabase();
  });
  afterAll(async () => {
    await admin.close();
  });

  /** A store as one host would open it: its own client (connection pool) on the shared database. */
  async function host(database: string, options: { chunkSize?: number } = {}): Promise<MongoContentStore> {
    if (!databases.includes(database)) databases.push(database);
    const store = new MongoContentStore(mongoUri!, { database, ...options });
    opened.push({ store });
    await store.init();
    return store;
  }

  test('two hosts upserting the same new units and artifacts at once both succeed, and each is stored once', async () => {
    const database = testDatabaseName('two-hosts');
    const [one, two] = [await host(database), await host(database)];
    for (let round = 0; round < 2; round++) {
      const units = Array.from({ length: 100 }, (_, i) => unit(`r${round}-${i}`, { i }, sha(round * 1000 + i)));
      const artifacts = units.map((_, i) => ({ sha256: sha(round * 1000 + i), size: i, digests: { md5: sha(round * 1000 + i).slice(32) } }));
      await Promise.all([one.upsertUnits(units), two.upsertUnits(units), one.upsertArtifacts(artifacts), two.upsertArtifacts(artifacts)]);
      const found = await two.findUnits(units.map((u) => u.unitId));
      expect(found.map((u) => [u.key['name'], u.metadata, u.artifacts[0]!.sha256])).toEqual(units.map((u, i) => [u.key['name'], { i }, sha(round * 1000 + i)]));
      expect(await one.findArtifacts('md5', [sha(round * 1000 + 7).slice(32)])).toEqual([{ sha256: sha(round * 1000 + 7), size: 7, digests: { sha256: sha(round * 1000 + 7), md5: sha(round * 1000 + 7).slice(32) } }]);
    }
    const db = admin.db(database);
    expect(await db.collection('units').countDocuments()).toBe(200);
    expect(await db.collection('artifacts').countDocuments()).toBe(200);
  });

  test('of hosts racing for the same free lease exactly one wins, every time', async () => {
    const database = testDatabaseName('lease-race');
    const hosts = [await host(database), await host(database), await host(database)];
    for (let round = 0; round < 5; round++) {
      const repo = await hosts[0]!.createRepository({ name: `r${round}` });
      const won = await Promise.all(hosts.map((store, i) => store.acquireLease(repo.id, `host-${i}`, 60_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect((await hosts[1]!.getLease(repo.id))?.holder).toBe(`host-${won.indexOf(true)}`);
    }
  });

  test('the same associate sent twice at once (a repeated request) leaves one row per unit', async () => {
    const store = await host(testDatabaseName('repeated'));
    const units = Array.from({ length: 300 }, (_, i) => unit(`u${i}`));
    await store.upsertUnits(units);
    const repo = await store.createRepository({ name: 'r' });
    const version = await store.beginVersion(repo.id);
    const rows = units.map(({ unitId, typeId }) => ({ unitId, typeId }));
    await Promise.all([store.associate(repo.id, version, rows, 'sync'), store.associate(repo.id, version, rows, 'sync')]);
    await store.commitVersion(repo.id, version);
    expect(await store.countRepoUnits(repo.id, version)).toEqual({ file: 300 });
    const keys: string[] = [];
    for await (const key of store.repoUnitKeys(repo.id, version)) keys.push(key.unitId);
    expect(new Set(keys).size).toBe(300);
    expect(keys).toHaveLength(300);
  });

  test('unit keys, metadata, repository config and sync reports keep field names MongoDB restricts', async () => {
    const store = await host(testDatabaseName('field-names'));
    const odd = { 'a.b': 1, $where: { '': [{ 'x.y': null }] }, plain: 'text' };
    const weird: UnitWrite = { unitId: unitIdFor('rpm.package', 'k'), typeId: 'rpm.package', key: { 'name.with.dot': 'k', $epoch: 0 }, metadata: odd, artifacts: [] };
    expect(await store.upsertUnits([weird])).toEqual(['created']);
    expect(await store.upsertUnits([{ ...weird, metadata: { plain: 'text', $where: { '': [{ 'x.y': null }] }, 'a.b': 1 } }])).toEqual(['unchanged']);
    expect((await store.findUnits([weird.unitId]))[0]).toMatchObject({ key: weird.key, metadata: odd });

    const repo = await store.createRepository({ name: 'r', config: { 'gpg.keys': ['$k'] } });
    expect((await store.getRepository('r'))!.config).toEqual({ 'gpg.keys': ['$k'] });
    const report = { added: { 'rpm.package': 1 }, updated: {}, removed: {}, downloaded: { count: 0, bytes: 0 }, log: [], timings: { 'stage.x': 1 } };
    const id = await store.startSyncRecord({ repoId: repo.id, importer: 'rpm', settingsHash: 'h', version: 1, startedAt: new Date().toISOString() });
    await store.finishSyncRecord(id, { status: 'succeeded', finishedAt: new Date().toISOString(), report, error: null, fingerprint: null, resultVersion: 1 });
    expect((await store.listSyncRecords(repo.id))[0]!.report).toEqual(report);
  });

  test('lookups and orphan cleanup split into chunks give the same answers as one query', async () => {
    const store = await host(testDatabaseName('chunks'), { chunkSize: 7 });
    const units = Array.from({ length: 40 }, (_, i) => unit(`c${String(i).padStart(2, '0')}`, { i }, sha(i)));
    await store.upsertArtifacts(units.map((_, i) => ({ sha256: sha(i), size: i, digests: {} })));
    await store.upsertUnits(units);
    const before = store.stats.roundTrips;
    const reversed = [...units].reverse().map((u) => u.unitId);
    expect((await store.findUnits(reversed)).map((u) => u.unitId)).toEqual(reversed);
    expect(store.stats.roundTrips - before).toBe(Math.ceil(40 / 7));

    const repo = await store.createRepository({ name: 'r' });
    const version = await store.beginVersion(repo.id);
    await store.associate(repo.id, version, units.slice(0, 15).map(({ unitId, typeId }) => ({ unitId, typeId })), 'sync');
    await store.commitVersion(repo.id, version);
    const views: string[] = [];
    for await (const view of store.repoUnits(repo.id, version, { pageSize: 4 })) views.push(view.unitId);
    expect(views).toEqual(units.slice(0, 15).map((u) => u.unitId).sort());

    const orphans = await store.deleteOrphans();
    expect(orphans.units).toBe(25);
    expect([...orphans.artifacts].sort()).toEqual(units.slice(15).map((_, i) => sha(15 + i)).sort());
    expect(await store.findUnits(units.map((u) => u.unitId))).toHaveLength(15);
  });

  test('a stream whose server cursor is killed midway resumes after its last unit, losing and repeating none', async () => {
    const database = testDatabaseName('resume');
    databases.push(database);
    const client = new MongoClient(mongoUri!, { monitorCommands: true });
    const cursorIds: unknown[] = [];
    client.on('commandSucceeded', (event) => {
      const id = (event.reply as { cursor?: { id?: unknown } }).cursor?.id;
      if (event.commandName === 'find' && id !== undefined) cursorIds.push(id);
    });
    const store = new MongoContentStore(mongoUri!, { database, client, keyPageSize: 10 });
    opened.push({ store, client });
    await store.init();
    const units = Array.from({ length: 45 }, (_, i) => unit(`k${i}`));
    await store.upsertUnits(units);
    const repo = await store.createRepository({ name: 'r' });
    const version = await store.beginVersion(repo.id);
    await store.associate(repo.id, version, units.map(({ unitId, typeId, key }) => ({ unitId, typeId, key })), 'sync');
    await store.commitVersion(repo.id, version);

    const streamed: string[] = [];
    for await (const key of store.repoUnitKeys(repo.id, version)) {
      streamed.push(key.unitId);
      if (streamed.length === 15) {
        // what the server does to a cursor left idle too long
        await client.db(database).command({ killCursors: 'repository_content', cursors: [Long.fromValue(cursorIds[cursorIds.length - 1] as number)] });
      }
    }
    expect(streamed).toEqual(units.map((u) => u.unitId).sort());
    expect(cursorIds.length).toBeGreaterThanOrEqual(2);
  });

  test('init is idempotent and creates the indexes by name; the URI names the database when no option does', async () => {
    const database = testDatabaseName('uri-db');
    databases.push(database);
    const uri = new URL(mongoUri!);
    uri.pathname = `/${database}`;
    const store = new MongoContentStore(uri.toString());
    opened.push({ store });
    expect(store.database).toBe(database);
    await store.init();
    await store.init();
    await store.createRepository({ name: 'in-uri-db' });
    const db = admin.db(database);
    expect(await db.collection('repositories').countDocuments({ name: 'in-uri-db' })).toBe(1);
    const names = (await db.collection('repository_content').listIndexes().toArray()).map((index) => index.name);
    expect(names).toEqual(expect.arrayContaining(['repo_unit', 'repo_type_unit', 'repo_added', 'repo_removed', 'unit']));
  });
});

describe('MongoContentStore without a server', () => {
  test('an unreachable server is TRIBUTARY_ERR_STORE naming the operation, and the password is not in the message', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const store = new MongoContentStore(`mongodb://tributary:s3cret-pw@127.0.0.1:${port}/catalog?serverSelectionTimeoutMS=300`);
    expect(store.database).toBe('catalog');
    const error = await store.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    await store.close();
    expect(isTributaryError(error, ErrorCodes.STORE)).toBe(true);
    expect((error as Error).message).toMatch(/MongoDB catalog 'catalog': could not connect/);
    expect((error as Error).message).not.toContain('s3cret-pw');
  });
});
