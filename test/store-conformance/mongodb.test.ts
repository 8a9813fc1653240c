import { MongoClient } from 'mongodb';
import { MongoContentStore } from '../../packages/core/src/store/mongodb/mongodb-content-store.js';
import { MONGODB_SKIP_REASON, mongoUri, testDatabaseName } from '../mongo-uri.js';
import { describeStoreConformance } from './describe-store-conformance.js';

// One client for the file; every test gets a store on its own, freshly created database.
let client: MongoClient | undefined;
afterAll(async () => {
  await client?.close();
});

describeStoreConformance(
  'mongodb',
  async () => {
    client ??= new MongoClient(mongoUri!);
    const database = testDatabaseName('conformance');
    const store = new MongoContentStore(mongoUri!, { client, database });
    await store.init();
    return {
      store,
      async cleanup() {
        await store.close();
        await client!.db(database).dropDatabase();
      },
    };
  },
  mongoUri === undefined ? { skip: MONGODB_SKIP_REASON } : {},
);
