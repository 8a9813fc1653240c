import { DeclarativeContent, ErrorCodes } from '@tributary/plugin-api';
import {
  ContentAssociation,
  ContentSaver,
  ContentUnassociation,
  QueryExistingContents,
  RemoteArtifactSaver,
  ResolveContentFutures,
  runPipeline,
} from '../../src/pipeline/index';
import { sha256Of } from './memory-fetcher';
import { PipelineSync } from './pipeline-sync';
import { Collector, fileContent, ListSource, throughStage } from './stage-harness';

let sync: PipelineSync;
beforeEach(async () => {
  sync = await PipelineSync.open();
});
afterEach(async () => sync.close());

/** `dc` with the bytes `body of <its path>` in storage, as ArtifactSaver leaves it. */
async function stored(dc: DeclarativeContent): Promise<DeclarativeContent> {
  dc.artifacts[0]!.stored = await sync.storeBytes(`body of ${String(dc.key.relativePath)}`);
  return dc;
}

describe('ContentSaver', () => {
  it('stores new units in one call per batch, with stored bytes by sha256 and deferred ones without', async () => {
    const contents = Array.from({ length: 7 }, (_, i) => fileContent(`f${i}`, `body of f${i}`));
    for (const dc of contents.slice(0, 3)) await stored(dc);
    const out = await throughStage(new ContentSaver(sync.context({ batchSize: 4 })), contents);

    expect(sync.writtenPerCall).toEqual([4, 3]);
    expect(out.every((dc) => dc.unit !== undefined && !dc.updated)).toBe(true);
    expect(await sync.artifactsOf('file', contents[0]!.key)).toEqual({ f0: sha256Of('body of f0') });
    expect(await sync.artifactsOf('file', contents[5]!.key)).toEqual({ f5: null });
  });

  it('skips units stored with the same metadata and files, and marks changed ones updated', async () => {
    const first = [await stored(fileContent('same', 'x')), fileContent('meta-changed', 'y'), fileContent('now-stored', 'z')];
    await throughStage(new ContentSaver(sync.context()), first);
    expect(sync.created).toBe(3);

    const again = [
      await stored(fileContent('same', 'x')),
      fileContent('meta-changed', 'y', { metadata: { size: 1, label: 'new' } }),
      await stored(fileContent('now-stored', 'z')),
      fileContent('brand-new', 'w'),
    ];
    const ctx = sync.context();
    const collector = new Collector();
    await runPipeline({ stages: [new ListSource(again), new QueryExistingContents(ctx), new ContentSaver(ctx), collector], plugin: 'p', repository: 'r' });

    expect(sync.writtenPerCall.at(-1)).toBe(3);
    const byName = Object.fromEntries(collector.seen.map((dc) => [dc.key.relativePath, dc]));
    expect(byName.same!.updated).toBe(false);
    expect(byName.same!.unit).toBeDefined();
    expect(byName['meta-changed']!.updated).toBe(true);
    expect(byName['now-stored']!.updated).toBe(true);
    expect(byName['brand-new']!.updated).toBe(false);
    expect(await sync.artifactsOf('file', byName['now-stored']!.key)).toEqual({ 'now-stored': sha256Of('body of now-stored') });
    // the report counts units whose metadata changed
    expect(sync.totals().updated).toBe(1);
    expect(sync.created).toBe(4);
  });
});

describe('RemoteArtifactSaver', () => {
  it('records url, expected size and digests for every artifact of every stored unit, one call per batch', async () => {
    const contents = Array.from({ length: 5 }, (_, i) => fileContent(`f${i}`, `body of f${i}`));
    contents.push(
      new DeclarativeContent({
        typeId: 'pkg',
        key: { name: 'two-files' },
        artifacts: [
          { url: ['http://a.test/1', 'http://b.test/1'], relativePath: 'one' },
          { url: 'http://a.test/2', relativePath: 'two', size: 2, digests: { md5: 'ab'.repeat(16) } },
        ],
      }),
    );
    // the units are stored (without their remote sources)
    const refs = await sync.conduit.addOrUpdateUnits(contents.map((dc) => ({ typeId: dc.typeId, key: dc.key })));
    contents.forEach((dc, i) => (dc.unit = refs[i]));
    await throughStage(new RemoteArtifactSaver(sync.context({ batchSize: 3 })), contents);

    expect(sync.calls.saveRemoteArtifacts).toBe(2);
    const remotes = await sync.remotes();
    expect(remotes.size).toBe(7);
    const f2 = sync.unitId('file', contents[2]!.key);
    expect(remotes.get(`${f2}|f2`)).toEqual({
      unitId: f2,
      relativePath: 'f2',
      remote: 'http://upstream.test/repo/',
      urls: ['http://upstream.test/repo/f2'],
      size: 'body of f2'.length,
      digests: { sha256: sha256Of('body of f2') },
    });
    const pkg = sync.unitId('pkg', { name: 'two-files' });
    expect(remotes.get(`${pkg}|one`)?.urls).toEqual(['http://a.test/1', 'http://b.test/1']);
    expect(remotes.get(`${pkg}|two`)?.digests).toEqual({ md5: 'ab'.repeat(16) });
  });
});

describe('ContentSaver then RemoteArtifactSaver', () => {
  it('writes the remote sources of units ContentSaver wrote once, with the unit', async () => {
    const ctx = sync.context();
    const contents = ['a', 'b', 'c'].map((n) => fileContent(n, `body of ${n}`));
    const collector = new Collector();
    await runPipeline({ stages: [new ListSource(contents), new ContentSaver(ctx), new RemoteArtifactSaver(ctx), collector], plugin: 'p', repository: 'r' });
    expect(collector.seen).toHaveLength(3);
    expect(sync.calls.saveRemoteArtifacts).toBeUndefined();
    expect((await sync.remotes()).size).toBe(3);

    const resave = (urlOf: (name: string) => string) =>
      runPipeline({
        stages: [
          new ListSource(['a', 'b', 'c'].map((n) => fileContent(n, `body of ${n}`, { artifacts: [{ url: urlOf(n), relativePath: n, size: `body of ${n}`.length, digests: { sha256: sha256Of(`body of ${n}`) } }] }))),
          new QueryExistingContents(ctx),
          new ContentSaver(ctx),
          new RemoteArtifactSaver(ctx),
          new Collector(),
        ],
        plugin: 'p',
        repository: 'r',
      });

    // the same content stored and unchanged, its sources recorded exactly so (the store returns
    // them with the unit): ContentSaver writes nothing, and neither does RemoteArtifactSaver
    const written = sync.writtenPerCall.length;
    await resave((n) => `http://upstream.test/repo/${n}`);
    expect(sync.writtenPerCall).toHaveLength(written);
    expect(sync.calls.saveRemoteArtifacts).toBeUndefined();

    // unchanged content whose sources moved: ContentSaver writes nothing, so RemoteArtifactSaver records the sources
    await resave((n) => `http://mirror.test/repo/${n}`);
    expect(sync.writtenPerCall).toHaveLength(written);
    expect(sync.calls.saveRemoteArtifacts).toBe(1);
    const remotes = await sync.remotes();
    expect(remotes.size).toBe(3);
    expect([...remotes.values()].map((remote) => remote.urls[0]).sort()).toEqual(['a', 'b', 'c'].map((n) => `http://mirror.test/repo/${n}`));
  });
});

describe('ResolveContentFutures', () => {
  it('resolves each future with the stored unit and passes the content on', async () => {
    const dc = fileContent('a', 'a');
    dc.unit = { unitId: 'u-a', typeId: 'file', key: dc.key };
    const waiting = dc.resolution();
    const out = await throughStage(new ResolveContentFutures(sync.context()), [dc]);
    expect(out).toEqual([dc]);
    expect(await waiting).toEqual({ unitId: 'u-a', typeId: 'file', key: dc.key });
  });
});

describe('ContentAssociation', () => {
  it('associates stored units with the in-progress version, one call per batch', async () => {
    const contents = Array.from({ length: 5 }, (_, i) => fileContent(`f${i}`, `${i}`));
    const refs = await sync.conduit.addOrUpdateUnits(contents.map((dc) => ({ typeId: dc.typeId, key: dc.key })));
    contents.forEach((dc, i) => dc.resolve(refs[i]));
    await throughStage(new ContentAssociation(sync.context({ batchSize: 2 })), contents);
    expect(sync.calls.associateUnits).toBe(3);
    expect(await sync.associatedCount()).toBe(5);
    expect(sync.totals().added).toBe(5);
  });

  it('content that reaches it unsaved is a typed error naming the content', async () => {
    const error = await throughStage(new ContentAssociation(sync.context()), [fileContent('lost', 'x')]).catch((e) => e);
    expect(error.stage).toBe('ContentAssociation');
    expect(error.details.causeCode).toBe(ErrorCodes.PLUGIN_MISBEHAVED);
    expect(error.message).toContain('lost');
  });
});

describe('ContentUnassociation', () => {
  it('removes what upstream no longer lists once, after all content has gone by', async () => {
    const refs = await sync.conduit.addOrUpdateUnits(['kept', 'gone'].map((n) => ({ typeId: 'doc', key: { relativePath: n } })));
    await sync.conduit.associateUnits(refs);
    await sync.commit();
    // the next sync sees 'kept' again
    await sync.conduit.associateUnits([refs[0]!]);

    let callsBeforeInputEnded = -1;
    const dc = new DeclarativeContent({ typeId: 'doc', key: { relativePath: 'kept' } });
    dc.unit = refs[0]!;
    class SlowSource extends ListSource {
      override async run(): Promise<void> {
        await super.run();
        // the stage has the content but its input has not ended: it must not have acted yet
        await new Promise((resolve) => setTimeout(resolve, 20));
        callsBeforeInputEnded = sync.calls.unassociateUnseen ?? 0;
      }
    }
    const collector = new Collector();
    await runPipeline({
      stages: [new SlowSource([dc]), new ContentUnassociation(sync.context({ settings: { mirror: true } })), collector],
      plugin: 'p',
      repository: 'r',
    });
    expect(collector.seen).toEqual([dc]);
    expect(callsBeforeInputEnded).toBe(0);
    expect(sync.calls.unassociateUnseen).toBe(1);
    expect(sync.totals().removed).toBe(1);
    expect((await sync.associated()).map((unit) => unit.key)).toEqual([{ relativePath: 'kept' }]);
  });
});
