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
import { InMemoryConduit } from './in-memory-conduit';
import { sha256Of } from './memory-fetcher';
import { Collector, contextFor, fileContent, ListSource, throughStage } from './stage-harness';

function stored(dc: DeclarativeContent): DeclarativeContent {
  const sha256 = sha256Of(`body of ${String(dc.key.relativePath)}`);
  dc.artifacts[0]!.stored = { sha256, size: 1, digests: { sha256 } };
  return dc;
}

describe('ContentSaver', () => {
  it('stores new units in one call per batch, with stored bytes by sha256 and deferred ones without', async () => {
    const conduit = new InMemoryConduit();
    const contents = Array.from({ length: 7 }, (_, i) => fileContent(`f${i}`, `body of f${i}`));
    contents.slice(0, 3).forEach(stored);
    const out = await throughStage(new ContentSaver(contextFor(conduit, { batchSize: 4 })), contents);

    expect(conduit.writtenPerCall).toEqual([4, 3]);
    expect(out.every((dc) => dc.unit !== undefined && !dc.updated)).toBe(true);
    expect(conduit.artifactsOf('file', contents[0]!.key)).toEqual({ f0: sha256Of('body of f0') });
    expect(conduit.artifactsOf('file', contents[5]!.key)).toEqual({ f5: null });
  });

  it('skips units stored with the same metadata and files, and marks changed ones updated', async () => {
    const conduit = new InMemoryConduit();
    const first = [stored(fileContent('same', 'x')), fileContent('meta-changed', 'y'), fileContent('now-stored', 'z')];
    await throughStage(new ContentSaver(contextFor(conduit)), first);
    expect(conduit.created).toBe(3);

    const again = [
      stored(fileContent('same', 'x')),
      fileContent('meta-changed', 'y', { metadata: { size: 1, label: 'new' } }),
      stored(fileContent('now-stored', 'z')),
      fileContent('brand-new', 'w'),
    ];
    const ctx = contextFor(conduit);
    const collector = new Collector();
    await runPipeline({ stages: [new ListSource(again), new QueryExistingContents(ctx), new ContentSaver(ctx), collector], plugin: 'p', repository: 'r' });

    expect(conduit.writtenPerCall.at(-1)).toBe(3);
    const byName = Object.fromEntries(collector.seen.map((dc) => [dc.key.relativePath, dc]));
    expect(byName.same!.updated).toBe(false);
    expect(byName.same!.unit).toBeDefined();
    expect(byName['meta-changed']!.updated).toBe(true);
    expect(byName['now-stored']!.updated).toBe(true);
    expect(byName['brand-new']!.updated).toBe(false);
    expect(conduit.artifactsOf('file', byName['now-stored']!.key)).toEqual({ 'now-stored': sha256Of('body of now-stored') });
    expect(conduit.updated).toBe(1);
  });
});

describe('RemoteArtifactSaver', () => {
  it('records url, expected size and digests for every artifact of every stored unit, one call per batch', async () => {
    const conduit = new InMemoryConduit();
    const contents = Array.from({ length: 5 }, (_, i) => fileContent(`f${i}`, `body of f${i}`));
    contents.forEach((dc) => (dc.unit = { unitId: `u-${String(dc.key.relativePath)}`, typeId: 'file', key: dc.key }));
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
    contents[5]!.unit = { unitId: 'u-pkg', typeId: 'pkg', key: { name: 'two-files' } };
    await throughStage(new RemoteArtifactSaver(contextFor(conduit, { batchSize: 3 })), contents);

    expect(conduit.calls.saveRemoteArtifacts).toBe(2);
    expect(conduit.remotes.size).toBe(7);
    expect(conduit.remotes.get('u-f2|f2')).toEqual({
      unitId: 'u-f2',
      relativePath: 'f2',
      urls: ['http://upstream.test/repo/f2'],
      size: 'body of f2'.length,
      digests: { sha256: sha256Of('body of f2') },
    });
    expect(conduit.remotes.get('u-pkg|one')?.urls).toEqual(['http://a.test/1', 'http://b.test/1']);
    expect(conduit.remotes.get('u-pkg|two')?.digests).toEqual({ md5: 'ab'.repeat(16) });
  });
});

describe('ContentSaver then RemoteArtifactSaver', () => {
  it('writes the remote sources of units ContentSaver wrote once, with the unit', async () => {
    const conduit = new InMemoryConduit();
    const ctx = contextFor(conduit);
    const contents = ['a', 'b', 'c'].map((n) => fileContent(n, `body of ${n}`));
    const collector = new Collector();
    await runPipeline({ stages: [new ListSource(contents), new ContentSaver(ctx), new RemoteArtifactSaver(ctx), collector], plugin: 'p', repository: 'r' });
    expect(collector.seen).toHaveLength(3);
    expect(conduit.calls.saveRemoteArtifacts).toBeUndefined();

    // the same content stored and unchanged: ContentSaver writes nothing, so RemoteArtifactSaver records the sources
    const again = ['a', 'b', 'c'].map((n) => fileContent(n, `body of ${n}`));
    await runPipeline({
      stages: [new ListSource(again), new QueryExistingContents(ctx), new ContentSaver(ctx), new RemoteArtifactSaver(ctx), new Collector()],
      plugin: 'p',
      repository: 'r',
    });
    expect(conduit.calls.saveRemoteArtifacts).toBe(1);
    expect(conduit.remotes.size).toBe(3);
  });
});

describe('ResolveContentFutures', () => {
  it('resolves each future with the stored unit and passes the content on', async () => {
    const dc = fileContent('a', 'a');
    dc.unit = { unitId: 'u-a', typeId: 'file', key: dc.key };
    const waiting = dc.resolution();
    const out = await throughStage(new ResolveContentFutures(contextFor(new InMemoryConduit())), [dc]);
    expect(out).toEqual([dc]);
    expect(await waiting).toEqual({ unitId: 'u-a', typeId: 'file', key: dc.key });
  });
});

describe('ContentAssociation', () => {
  it('associates stored units with the in-progress version, one call per batch', async () => {
    const conduit = new InMemoryConduit();
    const contents = Array.from({ length: 5 }, (_, i) => fileContent(`f${i}`, `${i}`));
    const refs = await conduit.addOrUpdateUnits(contents.map((dc) => ({ typeId: dc.typeId, key: dc.key })));
    contents.forEach((dc, i) => dc.resolve(refs[i]));
    await throughStage(new ContentAssociation(contextFor(conduit, { batchSize: 2 })), contents);
    expect(conduit.calls.associateUnits).toBe(3);
    expect(conduit.associated.size).toBe(5);
  });

  it('content that reaches it unsaved is a typed error naming the content', async () => {
    const error = await throughStage(new ContentAssociation(contextFor(new InMemoryConduit())), [fileContent('lost', 'x')]).catch((e) => e);
    expect(error.stage).toBe('ContentAssociation');
    expect(error.details.causeCode).toBe(ErrorCodes.PLUGIN_MISBEHAVED);
    expect(error.message).toContain('lost');
  });
});

describe('ContentUnassociation', () => {
  it('removes what upstream no longer lists once, after all content has gone by', async () => {
    const conduit = new InMemoryConduit();
    const refs = await conduit.addOrUpdateUnits(['kept', 'gone'].map((n) => ({ typeId: 'file', key: { relativePath: n } })));
    await conduit.associateUnits(refs);
    conduit.commit();
    await conduit.associateUnits([refs[0]!]);

    let callsBeforeInputEnded = -1;
    const dc = fileContent('kept', 'k');
    class SlowSource extends ListSource {
      override async run(): Promise<void> {
        await super.run();
        // the stage has the content but its input has not ended: it must not have acted yet
        await new Promise((resolve) => setTimeout(resolve, 20));
        callsBeforeInputEnded = conduit.calls.unassociateUnseen ?? 0;
      }
    }
    const collector = new Collector();
    await runPipeline({
      stages: [new SlowSource([dc]), new ContentUnassociation(contextFor(conduit, { settings: { mirror: true } })), collector],
      plugin: 'p',
      repository: 'r',
    });
    expect(collector.seen).toEqual([dc]);
    expect(callsBeforeInputEnded).toBe(0);
    expect(conduit.calls.unassociateUnseen).toBe(1);
    expect(conduit.removed).toBe(1);
  });
});
