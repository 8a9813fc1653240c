import { fingerprintBehaviours } from './fingerprint-behaviours.js';
import { sourceBehaviours } from './source-behaviours.js';
import type { ContentStore } from '@tributary/core';
import { contentBehaviours } from './content-behaviours.js';
import { historyBehaviours, orphanBehaviours } from './history-and-orphan-behaviours.js';
import { distributionBehaviours, publicationBehaviours } from './publication-behaviours.js';
import { leaseBehaviours, repositoryBehaviours } from './repository-and-lease-behaviours.js';
import { batchingBehaviours, streamingBehaviours } from './streaming-behaviours.js';
import { artifactBehaviours, unitBehaviours } from './unit-and-artifact-behaviours.js';
import { versionBehaviours } from './version-behaviours.js';
import { versionHistoryBehaviours } from './version-history-behaviours.js';
import { versionImmutabilityBehaviours } from './version-immutability-behaviours.js';

/** A freshly opened, empty, initialised store and how to dispose of it. */
export interface OpenedStore {
  readonly store: ContentStore;
  cleanup(): Promise<void>;
}

/**
 * The store conformance suite: every behaviour of the ContentStore port, as one jest `describe`.
 * Each store implementation runs it from its own test file, so the stores cannot drift apart.
 * `open` is called before every test and must return an empty store with `init()` done.
 * Pass `skip` (the reason) when the store's server is not available; the reason shows in the
 * describe's name.
 *
 * @example
 * ```ts
 * describeStoreConformance('sqlite', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'store-'));
 *   const store = new SqliteContentStore(join(dir, 'catalog.db'));
 *   await store.init();
 *   return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true }); } };
 * });
 * ```
 */
export function describeStoreConformance(name: string, open: () => Promise<OpenedStore>, options: { skip?: string } = {}): void {
  const describeOrSkip = options.skip === undefined ? describe : describe.skip;
  const title = options.skip === undefined ? `${name} content store conformance` : `${name} content store conformance (skipped: ${options.skip})`;
  describeOrSkip(title, () => {
    let opened: OpenedStore | undefined;
    const current = (): ContentStore => {
      if (opened === undefined) throw new Error('the store under test is not open');
      return opened.store;
    };
    beforeEach(async () => {
      opened = await open();
    });
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    describe('repositories', () => repositoryBehaviours(current));
    describe('leases', () => leaseBehaviours(current));
    describe('versions', () => versionBehaviours(current));
    describe('version-immutability', () => versionImmutabilityBehaviours(current));
    describe('version history', () => versionHistoryBehaviours(current));
    describe('repository content', () => contentBehaviours(current));
    describe('units', () => unitBehaviours(current));
    describe('artifacts', () => artifactBehaviours(current));
    describe('streaming', () => streamingBehaviours(current));
    describe('batching', () => batchingBehaviours(current));
    describe('sync history', () => historyBehaviours(current));
    describe('orphans', () => orphanBehaviours(current));
    describe('unit fingerprints', () => fingerprintBehaviours(current));
    describe('content sources', () => sourceBehaviours(current));
    describe('publications', () => publicationBehaviours(current));
    describe('distributions', () => distributionBehaviours(current));
  });
}
