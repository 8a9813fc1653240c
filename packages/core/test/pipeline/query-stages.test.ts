import { createHash } from 'node:crypto';
import { DeclarativeContent } from '@tributary/plugin-api';
import { QueryExistingArtifacts, QueryExistingContents } from '../../src/pipeline/index';
import { sha256Of } from './memory-fetcher';
import { PipelineSync } from './pipeline-sync';
import { fileContent, throughStage } from './stage-harness';

const md5Of = (text: string): string => createHash('md5').update(text).digest('hex');
const sha512Of = (text: string): string => createHash('sha512').update(text).digest('hex');

let sync: PipelineSync;
beforeEach(async () => {
  sync = await PipelineSync.open();
});
afterEach(async () => sync.close());

describe('QueryExistingContents', () => {
  it('marks stored content with one findUnitsByKey call per content type per batch', async () => {
    const stored = await sync.storeBytes('a');
    await sync.conduit.addOrUpdateUnits([
      { typeId: 'file', key: { relativePath: 'a', sha256: sha256Of('a') }, metadata: { size: 1 }, artifacts: [{ relativePath: 'a', sha256: stored.sha256 }] },
      { typeId: 'erratum', key: { id: 'E-1' }, metadata: { title: 'fix' } },
    ]);
    const contents = [
      fileContent('a', 'a'),
      fileContent('b', 'b'),
      new DeclarativeContent({ typeId: 'erratum', key: { id: 'E-1' } }),
      new DeclarativeContent({ typeId: 'erratum', key: { id: 'E-2' } }),
    ];
    const out = await throughStage(new QueryExistingContents(sync.context({ batchSize: 10 })), contents);

    expect(out).toHaveLength(4);
    expect(sync.calls.findUnitsByKey).toBe(2);
    expect(sync.calls.findUnits).toBeUndefined();
    expect(out[0]!.existing?.artifacts).toEqual([{ relativePath: 'a', sha256: sha256Of('a') }]);
    expect(out[0]!.unit?.unitId).toBe(sync.unitId('file', { relativePath: 'a', sha256: sha256Of('a') }));
    expect(out[1]!.existing).toBeUndefined();
    expect(out[1]!.unit).toBeUndefined();
    expect(out[2]!.existing?.metadata).toEqual({ title: 'fix' });
    expect(out[3]!.existing).toBeUndefined();
  });

  it('looks up each batch separately', async () => {
    const contents = Array.from({ length: 25 }, (_, i) => fileContent(`f${i}`, `${i}`));
    await throughStage(new QueryExistingContents(sync.context({ batchSize: 10 })), contents);
    expect(sync.calls.findUnitsByKey).toBe(3);
  });

  it('matches keys whose fields are written in another order', async () => {
    await sync.conduit.addOrUpdateUnits([{ typeId: 'rpm', key: { name: 'bash', version: '5.2' } }]);
    const [dc] = await throughStage(new QueryExistingContents(sync.context()), [
      new DeclarativeContent({ typeId: 'rpm', key: { version: '5.2', name: 'bash' } }),
    ]);
    expect(dc!.existing).toBeDefined();
  });

  it('marks stored content by the answer for its own key (findUnitsByKey), without findUnits', async () => {
    await sync.conduit.addOrUpdateUnits([
      { typeId: 'rpm', key: { name: 'bash', version: '5.2' }, metadata: { n: 1 } },
      { typeId: 'rpm', key: { name: 'zsh', version: '6' }, metadata: { n: 2 } },
    ]);
    const out = await throughStage(new QueryExistingContents(sync.context()), [
      new DeclarativeContent({ typeId: 'rpm', key: { name: 'zsh', version: '6' } }),
      new DeclarativeContent({ typeId: 'rpm', key: { name: 'fish', version: '1' } }),
      new DeclarativeContent({ typeId: 'rpm', key: { version: '5.2', name: 'bash' } }),
    ]);
    expect(sync.calls.findUnitsByKey).toBe(1);
    expect(sync.calls.findUnits).toBeUndefined();
    expect(out.map((dc) => dc.existing?.metadata['n'])).toEqual([2, undefined, 1]);
    expect(out.map((dc) => dc.unit?.unitId)).toEqual([
      sync.unitId('rpm', { name: 'zsh', version: '6' }),
      undefined,
      sync.unitId('rpm', { name: 'bash', version: '5.2' }),
    ]);
  });
});

describe('QueryExistingArtifacts', () => {
  const artifactContent = (name: string, digests: Record<string, string>, size?: number): DeclarativeContent =>
    new DeclarativeContent({
      typeId: 'doc',
      key: { relativePath: name },
      artifacts: [{ url: `http://upstream.test/${name}`, relativePath: name, digests, ...(size !== undefined ? { size } : {}) }],
    });

  it('finds stored bytes by sha256, else by the strongest declared digest, and checks the size', async () => {
    // stored with every digest (md5 and sha512 among them)
    await sync.storeBytes('stored one');
    await sync.storeBytes('stored two');
    const contents = [
      artifactContent('by-sha256', { sha256: sha256Of('stored one') }),
      artifactContent('by-sha512', { sha512: sha512Of('stored two'), md5: md5Of('something else') }),
      artifactContent('by-md5', { md5: md5Of('stored two') }, 'stored two'.length),
      artifactContent('md5-but-other-size', { md5: md5Of('stored two') }, 3),
      artifactContent('not-stored', { sha256: sha256Of('new bytes') }),
    ];
    const out = await throughStage(new QueryExistingArtifacts(sync.context()), contents);
    const stored = Object.fromEntries(out.map((dc) => [dc.key.relativePath, dc.artifacts[0]!.stored?.sha256 ?? null]));
    expect(stored).toEqual({
      'by-sha256': sha256Of('stored one'),
      // sha512 matches but the declared md5 contradicts the stored record: not the same bytes
      'by-sha512': null,
      'by-md5': sha256Of('stored two'),
      'md5-but-other-size': null,
      'not-stored': null,
    });
    // one call per algorithm in use: sha256, sha512, md5
    expect(sync.calls.findArtifacts).toBe(3);
    expect(sync.calls['findArtifacts:sha512']).toBe(1);
  });

  it('looks up an artifact declared without digests by the sha256 its stored unit has for that path', async () => {
    await sync.storeBytes('repomd body');
    const dc = new DeclarativeContent({
      typeId: 'meta',
      key: { name: 'repomd' },
      artifacts: [{ url: 'http://upstream.test/repomd.xml', relativePath: 'repodata/repomd.xml' }],
    });
    // the unit as the catalog holds it, with the bytes of that path stored
    await sync.conduit.addOrUpdateUnits([
      { typeId: 'meta', key: { name: 'repomd' }, artifacts: [{ relativePath: 'repodata/repomd.xml', sha256: sha256Of('repomd body') }] },
    ]);
    [dc.existing] = await sync.findUnits('meta', [{ name: 'repomd' }]);
    expect(dc.existing?.artifacts).toEqual([{ relativePath: 'repodata/repomd.xml', sha256: sha256Of('repomd body') }]);
    const [out] = await throughStage(new QueryExistingArtifacts(sync.context()), [dc]);
    expect(out!.artifacts[0]!.stored?.sha256).toBe(sha256Of('repomd body'));
  });

  it('drops content that was resolved before it arrived', async () => {
    const dropped = fileContent('x', 'x');
    dropped.resolve();
    const out = await throughStage(new QueryExistingArtifacts(sync.context()), [dropped, fileContent('y', 'y')]);
    expect(out.map((dc) => dc.key.relativePath)).toEqual(['y']);
  });
});
