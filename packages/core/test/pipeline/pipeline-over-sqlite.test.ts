import { createHash } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  canonicalJson,
  DeclarativeContent,
  defineImporter,
  ErrorCodes,
  Stage,
  SyncFailedError,
  type FirstStageContext,
} from '@tributary/plugin-api';
import { createHost } from '../../src/host/create-host.js';
import { startTempHost, type TempHost } from '../fixtures/temp-host';

/**
 * The default stages over the real pieces: RepoConduit, the SQLite store, ArtifactStorage and the
 * undici Downloader against a local HTTP server, driven by a small pipeline importer.
 */

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

interface ListedFile {
  path: string;
  sha256: string;
  size: number;
}
interface ListConfig {
  files: ListedFile[];
  /** Give metadata as JSON text (canonical, unless `texts` says otherwise for a path). */
  asText?: boolean;
  texts?: Record<string, string>;
  /** Finish early when the listing is the one the last sync saw. */
  finishEarly?: boolean;
  /** Give each content its listing entry as `source`. */
  withSources?: boolean;
  /** With sources: ask the host which entries it keeps as stored (FirstStageContext.keepUnchanged) and build only the rest. */
  keepUnchanged?: boolean;
}

/** What happened in which order, for tests that care: the first stage notes when it takes its index. */
const events: string[] = [];

class ListFirstStage extends Stage {
  constructor(private readonly ctx: FirstStageContext<ListConfig>) {
    super('ListFirstStage');
  }
  override async run(): Promise<void> {
    events.push('index taken');
    if (this.ctx.config.finishEarly && this.ctx.finishEarlyIfUnchanged(sha256(JSON.stringify(this.ctx.config.files)), 'listing unchanged')) return;
    const kept = this.ctx.config.keepUnchanged && this.ctx.keepUnchanged ? await this.ctx.keepUnchanged(this.ctx.config.files.map((file) => JSON.stringify(file))) : [];
    if (this.ctx.config.keepUnchanged) events.push(`kept ${kept.filter(Boolean).length}`);
    for (const [i, file] of this.ctx.config.files.entries()) {
      if (kept[i]) continue;
      await this.put(
        new DeclarativeContent({
          typeId: 'list.file',
          key: { relativePath: file.path, sha256: file.sha256 },
          ...(this.ctx.config.withSources ? { source: JSON.stringify(file) } : {}),
          ...(this.ctx.config.asText
            ? { metadataJson: this.ctx.config.texts?.[file.path] ?? canonicalJson({ size: file.size }) }
            : { metadata: { size: file.size } }),
          artifacts: [{ url: new URL(file.path, this.ctx.settings.url).href, relativePath: file.path, size: file.size, digests: { sha256: file.sha256 } }],
        }),
      );
    }
  }
}

const listImporter = defineImporter<ListConfig>({
  name: 'list',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [
    {
      id: 'list.file',
      keyFields: ['relativePath', 'sha256'],
      metadataSchema: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 0 } } },
    },
  ],
  configSchema: {
    type: 'object',
    required: ['files'],
    properties: {
      files: {
        type: 'array',
        items: { type: 'object', required: ['path', 'sha256', 'size'], properties: { path: { type: 'string' }, sha256: { type: 'string' }, size: { type: 'integer' } } },
      },
      asText: { type: 'boolean' },
      finishEarly: { type: 'boolean' },
      withSources: { type: 'boolean' },
      keepUnchanged: { type: 'boolean' },
      texts: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  firstStage: (ctx) => new ListFirstStage(ctx),
});

/** The list importer with a stage after ContentSaver that notes the path of every content it sees. */
function countingListImporter(seen: string[]) {
  class CountingStage extends Stage {
    constructor() {
      super('CountingStage');
    }
    override async run(): Promise<void> {
      for await (const dc of this.items()) {
        seen.push(String(dc.key.relativePath));
        await this.put(dc);
      }
    }
  }
  return defineImporter<ListConfig>({ ...listImporter, name: 'counting-list', stages: [{ after: 'ContentSaver', create: () => new CountingStage() }] });
}

/** Upstream files by path; `stall` paths never answer. */
class Upstream {
  readonly bodies = new Map<string, string>();
  readonly stall = new Set<string>();
  readonly requests: string[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice('/repo/'.length));
      this.requests.push(name);
      if (this.stall.has(name)) return; // hold the request open until the client gives up
      const body = this.bodies.get(name);
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/repo/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  listing(): ListConfig {
    return { files: [...this.bodies].map(([p, body]) => ({ path: p, sha256: sha256(body), size: Buffer.byteLength(body) })) };
  }
}

describe('default pipeline over RepoConduit + SQLite + ArtifactStorage + Downloader', () => {
  let t: TempHost;
  let upstream: Upstream;

  beforeEach(async () => {
    upstream = new Upstream();
    await upstream.start();
    for (let i = 0; i < 30; i++) upstream.bodies.set(`dir/f${i}.txt`, `contents of file ${i}\n`.repeat(i + 1));
    t = await startTempHost({ plugins: [listImporter], batchSize: 7 });
    await t.host.createRepository({ name: 'r' });
  });
  afterEach(async () => {
    await t.close();
    await upstream.stop();
  });

  const sync = (options: { policy?: 'immediate' | 'on_demand'; mirror?: boolean; signal?: AbortSignal } = {}) =>
    t.host.sync('r', { importer: 'list', url: upstream.url, config: upstream.listing() as never, ...options });

  async function units() {
    const out = [];
    for await (const unit of t.host.units('r')) out.push(unit);
    return out.sort((a, b) => String(a.key.relativePath).localeCompare(String(b.key.relativePath)));
  }

  it('immediate: every file is downloaded once, stored, recorded with its remote, and exported byte for byte', async () => {
    const outcome = await sync({ policy: 'immediate' });
    expect(outcome.report.added).toEqual({ 'list.file': 30 });
    expect(outcome.report.downloaded.count).toBe(30);
    expect(upstream.requests).toHaveLength(30);
    const stored = await units();
    expect(stored).toHaveLength(30);
    const f7 = stored.find((u) => u.key.relativePath === 'dir/f7.txt')!;
    expect(f7.artifacts).toEqual([
      expect.objectContaining({ relativePath: 'dir/f7.txt', stored: true, sha256: sha256(upstream.bodies.get('dir/f7.txt')!), remoteUrls: [`${upstream.url}dir/f7.txt`] }),
    ]);
    const out = await mkdtemp(path.join(tmpdir(), 'tributary-export-'));
    try {
      await t.host.exportRepository('r', out);
      expect(await readFile(path.join(out, 'dir/f7.txt'), 'utf8')).toBe(upstream.bodies.get('dir/f7.txt'));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    expect(Object.keys(outcome.report.timings)).toEqual(expect.arrayContaining(['ListFirstStage', 'ArtifactDownloader', 'ContentAssociation']));
  });

  it('on_demand: nothing is downloaded; every file has a remote artifact with its expected size and sha256', async () => {
    const outcome = await sync({ policy: 'on_demand' });
    expect(outcome.report.added).toEqual({ 'list.file': 30 });
    expect(upstream.requests).toHaveLength(0);
    for (const unit of await units()) {
      const body = upstream.bodies.get(String(unit.key.relativePath))!;
      expect(unit.artifacts).toEqual([
        expect.objectContaining({ stored: false, sha256: sha256(body), size: Buffer.byteLength(body), remoteUrls: [`${upstream.url}${String(unit.key.relativePath)}`] }),
      ]);
    }
  });

  it('a re-sync with nothing changed fetches nothing and adds or updates nothing', async () => {
    const first = await sync({ policy: 'immediate' });
    upstream.requests.length = 0;
    const again = await sync({ policy: 'immediate' });
    expect(upstream.requests).toHaveLength(0);
    expect(again.report.added).toEqual({});
    expect(again.report.updated).toEqual({});
    expect(again.version).toBe(first.version);
  });

  /** Store calls a sync makes, by method, from here on. */
  function countStoreCalls(...methods: ('upsertUnits' | 'findUnits' | 'findArtifacts' | 'associate' | 'markSeen')[]): Record<string, number> {
    const counts: Record<string, number> = {};
    const store = t.host.store as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of methods) {
      counts[method] = 0;
      const original = store[method]!.bind(store);
      jest.spyOn(store, method).mockImplementation((...args: unknown[]) => {
        counts[method]!++;
        return original(...args);
      });
    }
    return counts;
  }

  it('a re-sync drops unchanged content in QueryExistingContents: no unit is looked up, written or downloaded, only marked seen', async () => {
    await sync({ policy: 'immediate' });
    const before = await units();
    upstream.requests.length = 0;
    const calls = countStoreCalls('upsertUnits', 'findUnits', 'findArtifacts', 'associate', 'markSeen');
    const again = await t.host.sync('r', { importer: 'list', url: upstream.url, config: upstream.listing() as never, policy: 'immediate', force: true, mirror: true });
    expect(again.report).toMatchObject({ added: {}, updated: {}, removed: {} });
    expect(calls).toEqual({ upsertUnits: 0, findUnits: 0, findArtifacts: 0, associate: 0, markSeen: 6 }); // 30 units: the first alone (the first stage pauses after each put), then batches of 7
    expect(upstream.requests).toHaveLength(0);
    expect(await units()).toEqual(before);
  });

  it("the base version's fingerprints are read once the importer goes on with its index (at once when forced), and not at all when it finishes early", async () => {
    const run = (force: boolean, files = upstream.listing().files) =>
      t.host.sync('r', { importer: 'list', url: upstream.url, config: { files, finishEarly: true } as never, policy: 'on_demand', force });
    await run(false);
    const store = t.host.store as unknown as Record<'repoUnitFingerprints' | 'repoUnitSources', (...args: unknown[]) => unknown>;
    // what is stored is read first as recorded sources (this importer gives none), then as fingerprints
    const spy = (method: 'repoUnitFingerprints' | 'repoUnitSources') => {
      const original = store[method].bind(store);
      return jest.spyOn(store, method).mockImplementation((...args: unknown[]) => {
        if (!events.includes('base read')) events.push('base read');
        return original(...args);
      });
    };
    const reads = spy('repoUnitFingerprints');
    spy('repoUnitSources');
    events.length = 0;
    const early = await run(false);
    expect(early.report.finishedEarly).toBe('listing unchanged');
    expect(reads).not.toHaveBeenCalled();
    // a forced sync cannot finish early: the read starts before the importer has its index
    events.length = 0;
    const forced = await run(true);
    expect(forced.report.finishedEarly).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(1);
    expect(events).toEqual(['base read', 'index taken']);
    // nor can one whose settings (here the config) no earlier sync had
    events.length = 0;
    await run(false, upstream.listing().files.slice(1));
    expect(events).toEqual(['base read', 'index taken']);
  });

  it('an upgraded importer does not finish early on an unchanged index: its first sync reads everything, and records its own sources', async () => {
    const listing = { ...upstream.listing(), finishEarly: true, withSources: true };
    const run = (host: TempHost, importer = 'list') => host.host.sync('r', { importer, url: upstream.url, config: listing as never, policy: 'on_demand' });
    await run(t);
    expect((await run(t)).report.finishedEarly).toBe('listing unchanged');
    await t.host.close();
    // the same catalog and storage, the importer one version on
    const upgraded = await createHost({
      storageRoot: path.join(t.dir, 'storage'),
      store: { sqlite: path.join(t.dir, 'catalog.db') },
      plugins: [defineImporter<ListConfig>({ ...listImporter, version: '1.1.0' })],
      batchSize: 7,
    });
    try {
      const store = upgraded.store as unknown as Record<'repoUnitSources', (...args: unknown[]) => AsyncIterable<Float64Array>>;
      const recorded = async () => {
        let count = 0;
        const repo = await upgraded.getRepository('r');
        for await (const page of store.repoUnitSources(repo.id, repo.latestVersion)) count += page.length / 4;
        return count;
      };
      const first = await upgraded.sync('r', { importer: 'list', url: upstream.url, config: listing as never, policy: 'on_demand' });
      expect(first.report.finishedEarly).toBeUndefined();
      expect(first.report).toMatchObject({ added: {}, updated: {}, removed: {} });
      expect(await recorded()).toBe(30); // re-recorded under the new version (the old version's records found nothing)
      const second = await upgraded.sync('r', { importer: 'list', url: upstream.url, config: listing as never, policy: 'on_demand' });
      expect(second.report.finishedEarly).toBe('listing unchanged');
    } finally {
      await upgraded.close();
    }
  });

  it('a re-sync writes only what changed: a new size is an update, a new file is added, the rest is skipped', async () => {
    await sync({ policy: 'on_demand' });
    const listing = upstream.listing();
    listing.files[3]!.size += 1;
    upstream.bodies.set('dir/new.txt', 'a new file\n');
    listing.files.push({ path: 'dir/new.txt', sha256: sha256('a new file\n'), size: 11 });
    const calls = countStoreCalls('upsertUnits', 'markSeen');
    const again = await t.host.sync('r', { importer: 'list', url: upstream.url, config: listing as never, policy: 'on_demand', mirror: true });
    expect(again.report).toMatchObject({ added: { 'list.file': 1 }, updated: { 'list.file': 1 }, removed: {} });
    expect(calls.upsertUnits).toBeGreaterThan(0);
    const stored = await units();
    expect(stored).toHaveLength(31);
    const changed = stored.find((u) => u.key.relativePath === listing.files[3]!.path)!;
    expect(changed.metadata).toEqual({ size: listing.files[3]!.size });
    expect(changed.artifacts[0]!.size).toBe(listing.files[3]!.size);
  });

  describe('content that names its source', () => {
    const sourced = (listing = upstream.listing()) => ({ ...listing, withSources: true });
    const syncSourced = (options: { policy?: 'immediate' | 'on_demand'; force?: boolean; listing?: ListConfig; repository?: string } = {}) =>
      t.host.sync(options.repository ?? 'r', {
        importer: 'list',
        url: upstream.url,
        config: sourced(options.listing) as never,
        policy: options.policy ?? 'on_demand',
        mirror: true,
        ...(options.force ? { force: true } : {}),
      });
    const spyOnReads = () => {
      const store = t.host.store as unknown as Record<'repoUnitFingerprints' | 'repoUnitSources', (...args: unknown[]) => unknown>;
      return { fingerprints: jest.spyOn(store, 'repoUnitFingerprints'), sources: jest.spyOn(store, 'repoUnitSources') };
    };

    it('a forced re-sync finds every unit by its source: no fingerprint is read, nothing is looked up, written or associated, only marked seen', async () => {
      await syncSourced();
      const before = await units();
      const reads = spyOnReads();
      const calls = countStoreCalls('upsertUnits', 'findUnits', 'findArtifacts', 'associate', 'markSeen');
      const again = await syncSourced({ force: true });
      expect(again.report).toMatchObject({ added: {}, updated: {}, removed: {} });
      expect(again.report.finishedEarly).toBeUndefined();
      expect(calls).toEqual({ upsertUnits: 0, findUnits: 0, findArtifacts: 0, associate: 0, markSeen: 6 }); // 30 units: the first alone (the first stage pauses after each put), then batches of 7
      expect(reads.sources).toHaveBeenCalledTimes(1);
      expect(reads.fingerprints).not.toHaveBeenCalled();
      expect(await units()).toEqual(before);
    });

    it('a changed entry is an update and a new one is added; the rest is found by source, and the next re-sync finds all', async () => {
      await syncSourced();
      const listing = upstream.listing();
      listing.files[3]!.size += 1;
      upstream.bodies.set('dir/new.txt', 'a new file\n');
      listing.files.push({ path: 'dir/new.txt', sha256: sha256('a new file\n'), size: 11 });
      const again = await syncSourced({ listing });
      expect(again.report).toMatchObject({ added: { 'list.file': 1 }, updated: { 'list.file': 1 }, removed: {} });
      expect((await units()).find((u) => u.key.relativePath === listing.files[3]!.path)!.metadata).toEqual({ size: listing.files[3]!.size });
      const calls = countStoreCalls('upsertUnits', 'associate');
      const third = await syncSourced({ listing, force: true });
      expect(third.report).toMatchObject({ added: {}, updated: {}, removed: {} });
      expect(calls).toEqual({ upsertUnits: 0, associate: 0 });
    });

    it("a unit another repository's sync rewrote since its source was recorded goes the long way and is written back", async () => {
      await syncSourced();
      await t.host.createRepository({ name: 'other' });
      // the same key with other metadata: units are shared, so this rewrites the unit row
      const other = upstream.listing();
      other.files = [{ ...other.files[5]!, size: other.files[5]!.size + 100 }];
      await t.host.sync('other', { importer: 'list', url: upstream.url, config: other as never, policy: 'on_demand' });
      const path5 = other.files[0]!.path;
      // a committed version never changes: r's version still shows the unit as r's sync wrote it
      expect((await units()).find((u) => u.key.relativePath === path5)!.metadata).toEqual({ size: other.files[0]!.size - 100 });
      const again = await syncSourced({ force: true });
      expect(again.report).toMatchObject({ added: {}, updated: { 'list.file': 1 }, removed: {} });
      expect((await units()).find((u) => u.key.relativePath === path5)!.metadata).toEqual({ size: other.files[0]!.size - 100 });
    });

    it('sources recorded under one policy are not found under another: the first sync under it goes the long way, the next finds them', async () => {
      await syncSourced({ policy: 'on_demand' });
      const calls = countStoreCalls('upsertUnits', 'associate');
      await syncSourced({ policy: 'immediate', force: true });
      expect(calls.associate).toBeGreaterThan(0);
      expect((await units()).every((u) => u.artifacts.every((a) => a.stored))).toBe(true);
      calls.upsertUnits = 0;
      calls.associate = 0;
      upstream.requests.length = 0;
      await syncSourced({ policy: 'immediate', force: true });
      expect(calls).toEqual({ upsertUnits: 0, associate: 0 });
      expect(upstream.requests).toHaveLength(0);
    });

    it('a unit removed from the repository by hand is found by nothing and added back by a mirror sync', async () => {
      await syncSourced();
      const gone = (await units())[0]!;
      await t.host.unassociateUnits('r', 'list.file', [gone.key]);
      const again = await syncSourced({ force: true });
      expect(again.report.added).toEqual({ 'list.file': 1 });
      expect((await units()).map((u) => u.key.relativePath)).toContain(gone.key.relativePath);
    });

    describe('kept by the first stage (FirstStageContext.keepUnchanged)', () => {
      const keeping = (listing = upstream.listing()) => ({ ...sourced(listing), keepUnchanged: true });
      const syncKeeping = (listing?: ListConfig, importer = 'list', host = t) =>
        host.host.sync('r', { importer, url: upstream.url, config: keeping(listing) as never, policy: 'on_demand', mirror: true, force: true });

      it('a forced mirror re-sync keeps every unit it met before: nothing is built, looked up, written or removed, and the version stays', async () => {
        const first = await syncKeeping();
        expect(events).toContain('kept 0');
        const before = await units();
        const calls = countStoreCalls('upsertUnits', 'findUnits', 'associate', 'markSeen');
        events.length = 0;
        const again = await syncKeeping();
        expect(events).toContain('kept 30');
        expect(again.report).toMatchObject({ added: {}, updated: {}, removed: {} });
        expect(again.version).toBe(first.version);
        expect(calls).toEqual({ upsertUnits: 0, findUnits: 0, associate: 0, markSeen: 5 }); // seen marks for 30 rows in batches of 7
        expect(await units()).toEqual(before);
      });

      it('nothing is kept when a plugin stage after QueryExistingContents must see every content', async () => {
        const seen: string[] = [];
        const counting = countingListImporter(seen);
        const other = await startTempHost({ plugins: [counting], batchSize: 7 });
        try {
          await other.host.createRepository({ name: 'r' });
          await syncKeeping(undefined, 'counting-list', other);
          seen.length = 0;
          events.length = 0;
          await syncKeeping(undefined, 'counting-list', other);
          expect(events).toContain('kept 0');
          expect(seen).toHaveLength(30);
        } finally {
          await other.close();
        }
      });
    });

    it('a unit found unchanged by its fingerprint gets its source recorded, so the next re-sync finds it by source', async () => {
      await sync({ policy: 'on_demand' }); // no sources recorded
      await syncSourced({ force: true }); // found by fingerprints, sources recorded with the seen marks
      const reads = spyOnReads();
      const calls = countStoreCalls('upsertUnits', 'associate', 'markSeen');
      await syncSourced({ force: true });
      expect(reads.fingerprints).not.toHaveBeenCalled();
      expect(calls).toEqual({ upsertUnits: 0, associate: 0, markSeen: 6 }); // the first alone, then batches of 7
    });
  });

  it('a re-sync from another url records the new sources; the one after it skips every unit again', async () => {
    await sync({ policy: 'on_demand' });
    const otherUrl = upstream.url.replace('127.0.0.1', 'localhost');
    const fromOther = () => t.host.sync('r', { importer: 'list', url: otherUrl, config: upstream.listing() as never, policy: 'on_demand', force: true });
    await fromOther();
    const f1 = (await units()).find((u) => u.key.relativePath === 'dir/f1.txt')!;
    expect([...f1.artifacts[0]!.remoteUrls].sort()).toEqual([`${otherUrl}dir/f1.txt`, `${upstream.url}dir/f1.txt`].sort());
    const calls = countStoreCalls('upsertUnits', 'findUnits');
    await fromOther();
    expect(calls).toEqual({ upsertUnits: 0, findUnits: 0 });
  });

  it('with a plugin stage after QueryExistingContents, a re-sync hands that stage every content, unchanged or not', async () => {
    const seen: string[] = [];
    const counting = countingListImporter(seen);
    const other = await startTempHost({ plugins: [counting], batchSize: 7 });
    try {
      await other.host.createRepository({ name: 'r' });
      const config = { ...upstream.listing(), finishEarly: true };
      const run = () => other.host.sync('r', { importer: 'counting-list', url: upstream.url, config: config as never, policy: 'on_demand', force: true });
      await run();
      seen.length = 0;
      const store = other.host.store as unknown as { repoUnitFingerprints: (...args: unknown[]) => unknown };
      const reads = jest.spyOn(store, 'repoUnitFingerprints');
      await run();
      expect(seen).toHaveLength(30);
      // nothing compares with the base version, so it is not read either
      expect(reads).not.toHaveBeenCalled();
    } finally {
      await other.close();
    }
  });

  it('multi-level discovery in a re-sync: content awaiting a unit that QueryExistingContents skipped as unchanged gets its ref', async () => {
    const refs: (string | undefined)[] = [];
    class LinkedFirstStage extends Stage {
      constructor() {
        super('LinkedFirstStage');
      }
      override async run(): Promise<void> {
        const base = new DeclarativeContent({ typeId: 'linked.item', key: { name: 'base' }, metadata: { role: 'base' } });
        await this.put(base);
        const ref = await base.resolution();
        refs.push(ref?.unitId);
        await this.put(new DeclarativeContent({ typeId: 'linked.item', key: { name: 'derived' }, metadata: { role: 'derived', base: ref?.unitId ?? null } }));
      }
    }
    const linked = defineImporter({
      name: 'linked',
      version: '1.0.0',
      hostApi: '^1.0.0',
      contentTypes: [{ id: 'linked.item', keyFields: ['name'] }],
      firstStage: () => new LinkedFirstStage(),
    });
    const other = await startTempHost({ plugins: [linked], batchSize: 7 });
    try {
      await other.host.createRepository({ name: 'r' });
      const run = () => other.host.sync('r', { importer: 'linked', url: upstream.url, policy: 'on_demand', force: true, mirror: true });
      const first = await run();
      expect(first.report.added).toEqual({ 'linked.item': 2 });
      const calls = { upsertUnits: 0 };
      const store = other.host.store as unknown as { upsertUnits: (...args: unknown[]) => Promise<unknown> };
      const upsert = store.upsertUnits.bind(store);
      jest.spyOn(store, 'upsertUnits').mockImplementation((...args: unknown[]) => (calls.upsertUnits++, upsert(...args)));
      const again = await run();
      expect(again.report).toMatchObject({ added: {}, updated: {}, removed: {} });
      expect(calls.upsertUnits).toBe(0);
      expect(refs).toHaveLength(2);
      expect(refs[1]).toBe(refs[0]);
      expect(refs[0]).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      await other.close();
    }
  });

  it('a file the sync now downloads is not skipped: on_demand, then immediate fetches every file', async () => {
    await sync({ policy: 'on_demand' });
    const again = await sync({ policy: 'immediate' });
    expect(again.report.downloaded.count).toBe(30);
    expect((await units()).every((u) => u.artifacts.every((a) => a.stored))).toBe(true);
  });

  it('metadata given as JSON text is stored as that text; the same metadata given later as an object is unchanged', async () => {
    const spaced = `{ "size" : ${Buffer.byteLength(upstream.bodies.get('dir/f2.txt')!)} }`;
    const config = { ...upstream.listing(), asText: true, texts: { 'dir/f2.txt': spaced } };
    const asText = await t.host.sync('r', { importer: 'list', url: upstream.url, config: config as never, policy: 'on_demand' });
    expect(asText.report.added).toEqual({ 'list.file': 30 });
    for (const unit of await units()) expect(unit.metadata).toEqual({ size: Buffer.byteLength(upstream.bodies.get(String(unit.key.relativePath))!) });
    const catalog = new BetterSqlite3(path.join(t.dir, 'catalog.db'), { readonly: true });
    try {
      const texts = catalog.prepare(`SELECT key, metadata FROM units`).all() as { key: string; metadata: string }[];
      const f2 = texts.find((row) => JSON.parse(row.key).relativePath === 'dir/f2.txt')!;
      expect(f2.metadata).toBe(spaced);
    } finally {
      catalog.close();
    }
    // given as objects, 29 match what is stored as they are; dir/f2.txt's text is not canonical, so it is compared the long way
    const calls = countStoreCalls('findUnits', 'upsertUnits');
    const asObject = await sync({ policy: 'on_demand', mirror: true });
    expect(asObject.report).toMatchObject({ added: {}, updated: {}, removed: {} });
    expect(calls).toEqual({ findUnits: 1, upsertUnits: 0 });
  });

  it.each([
    ['not JSON', '{"size": 1'],
    ['not an object', '[1]'],
    ["against the type's schema", '{"size":-1}'],
  ])('metadata text %s fails the sync with a typed error and leaves the previous version as it was', async (_what, text) => {
    await sync({ policy: 'on_demand' });
    const before = await units();
    const config = { ...upstream.listing(), asText: true, texts: { 'dir/f5.txt': text } };
    const error = (await t.host.sync('r', { importer: 'list', url: upstream.url, config: config as never, policy: 'on_demand', force: true }).catch((e: unknown) => e)) as SyncFailedError;
    expect(error).toBeInstanceOf(SyncFailedError);
    expect(error.details.causeCode).toBe(ErrorCodes.UNIT_METADATA_INVALID);
    expect(await units()).toEqual(before);
    expect(await t.tempLeftovers()).toEqual([]);
  });

  it('mirror: files deleted or changed upstream leave the new version; a sync without mirror keeps them', async () => {
    await sync({ policy: 'immediate' });
    upstream.bodies.delete('dir/f3.txt');
    upstream.bodies.set('dir/f4.txt', 'changed upstream\n');
    const kept = await sync({ policy: 'immediate' });
    expect(kept.report.removed).toEqual({});
    expect(await units()).toHaveLength(31);

    const mirrored = await sync({ policy: 'immediate', mirror: true });
    expect(mirrored.report.removed).toEqual({ 'list.file': 2 });
    const now = await units();
    expect(now).toHaveLength(29);
    expect(now.find((u) => u.key.relativePath === 'dir/f3.txt')).toBeUndefined();
    expect(now.filter((u) => u.key.relativePath === 'dir/f4.txt').map((u) => u.key.sha256)).toEqual([sha256('changed upstream\n')]);
  });

  it('a file whose bytes do not match fails the sync in ArtifactDownloader; the previous version stays and no temp file is left', async () => {
    await sync({ policy: 'on_demand' });
    const before = await units();
    const config = upstream.listing();
    upstream.bodies.set('dir/f5.txt', 'tampered with\n');
    const error = await t.host
      .sync('r', { importer: 'list', url: upstream.url, config: config as never, policy: 'immediate' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncFailedError);
    expect((error as SyncFailedError).stage).toBe('ArtifactDownloader');
    expect([ErrorCodes.DIGEST_MISMATCH, ErrorCodes.SIZE_MISMATCH]).toContain((error as SyncFailedError).details.causeCode);
    // The version's membership, keys and metadata are as before. Bytes of good files that a batch
    // stored before the failure arrived may show as stored: storage is content-addressed and shared,
    // not part of a version, and how many get there first depends on timing.
    const membership = (list: Awaited<ReturnType<typeof units>>) => list.map((u) => ({ key: u.key, metadata: u.metadata, origin: u.origin }));
    expect(membership(await units())).toEqual(membership(before));
    expect((await units()).find((u) => u.key.relativePath === 'dir/f5.txt')!.artifacts.every((a) => !a.stored)).toBe(true);
    expect(await t.tempLeftovers()).toEqual([]);
  });

  it('cancelling while a download stalls stops the sync promptly as cancelled in ArtifactDownloader', async () => {
    upstream.stall.add('dir/f9.txt');
    const controller = new AbortController();
    const syncing = sync({ policy: 'immediate', signal: controller.signal }).catch((e: unknown) => e);
    while (!upstream.requests.includes('dir/f9.txt')) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const error = (await syncing) as SyncFailedError;
    expect(error.code).toBe(ErrorCodes.SYNC_CANCELLED);
    expect(error.stage).toBe('ArtifactDownloader');
    expect(await units()).toEqual([]);
    expect(await t.tempLeftovers()).toEqual([]);
  });
});
