import { createHash } from 'node:crypto';
import { DeclarativeContent, type ExistingUnit, type UnitKey } from '@tributary/plugin-api';
import { QueryExistingArtifacts, QueryExistingContents } from '../../src/pipeline/index';
import { InMemoryConduit } from './in-memory-conduit';
import { sha256Of } from './memory-fetcher';
import { contextFor, fileContent, throughStage } from './stage-harness';

const md5Of = (text: string): string => createHash('md5').update(text).digest('hex');
const sha512Of = (text: string): string => createHash('sha512').update(text).digest('hex');

describe('QueryExistingContents', () => {
  it('marks stored content with one findUnits call per content type per batch', async () => {
    const conduit = new InMemoryConduit();
    await conduit.addOrUpdateUnits([
      { typeId: 'file', key: { relativePath: 'a', sha256: sha256Of('a') }, metadata: { size: 1 }, artifacts: [{ relativePath: 'a', sha256: sha256Of('a') }] },
      { typeId: 'erratum', key: { id: 'E-1' }, metadata: { title: 'fix' } },
    ]);
    conduit.calls.findUnits = 0;
    const contents = [
      fileContent('a', 'a'),
      fileContent('b', 'b'),
      new DeclarativeContent({ typeId: 'erratum', key: { id: 'E-1' } }),
      new DeclarativeContent({ typeId: 'erratum', key: { id: 'E-2' } }),
    ];
    const out = await throughStage(new QueryExistingContents(contextFor(conduit, { batchSize: 10 })), contents);

    expect(out).toHaveLength(4);
    expect(conduit.calls.findUnits).toBe(2);
    expect(out[0]!.existing?.artifacts).toEqual([{ relativePath: 'a', sha256: sha256Of('a') }]);
    expect(out[0]!.unit?.unitId).toBe(InMemoryConduit.unitId('file', { relativePath: 'a', sha256: sha256Of('a') }));
    expect(out[1]!.existing).toBeUndefined();
    expect(out[1]!.unit).toBeUndefined();
    expect(out[2]!.existing?.metadata).toEqual({ title: 'fix' });
    expect(out[3]!.existing).toBeUndefined();
  });

  it('looks up each batch separately', async () => {
    const conduit = new InMemoryConduit();
    const contents = Array.from({ length: 25 }, (_, i) => fileContent(`f${i}`, `${i}`));
    await throughStage(new QueryExistingContents(contextFor(conduit, { batchSize: 10 })), contents);
    expect(conduit.calls.findUnits).toBe(3);
  });

  it('matches keys whose fields are written in another order', async () => {
    const conduit = new InMemoryConduit();
    await conduit.addOrUpdateUnits([{ typeId: 'rpm', key: { name: 'bash', version: '5.2' } }]);
    const [dc] = await throughStage(new QueryExistingContents(contextFor(conduit)), [
      new DeclarativeContent({ typeId: 'rpm', key: { version: '5.2', name: 'bash' } }),
    ]);
    expect(dc!.existing).toBeDefined();
  });
});

describe('QueryExistingContents with a conduit that finds units by key', () => {
  /** Answers key by key through the conduit's own unit ids, as the host's conduit does. */
  class KeyedConduit extends InMemoryConduit {
    async findUnitsByKey(typeId: string, keys: readonly UnitKey[]): Promise<(ExistingUnit | undefined)[]> {
      this.calls['findUnitsByKey'] = (this.calls['findUnitsByKey'] ?? 0) + 1;
      const found = new Map((await super.findUnits(typeId, keys)).map((unit) => [unit.unitId, unit]));
      return keys.map((key) => found.get(InMemoryConduit.unitId(typeId, key)));
    }
  }

  it('marks stored content by the answer for its own key, without findUnits', async () => {
    const conduit = new KeyedConduit();
    await conduit.addOrUpdateUnits([
      { typeId: 'rpm', key: { name: 'bash', version: '5.2' }, metadata: { n: 1 } },
      { typeId: 'rpm', key: { name: 'zsh', version: '6' }, metadata: { n: 2 } },
    ]);
    conduit.calls.findUnits = 0;
    const out = await throughStage(new QueryExistingContents(contextFor(conduit)), [
      new DeclarativeContent({ typeId: 'rpm', key: { name: 'zsh', version: '6' } }),
      new DeclarativeContent({ typeId: 'rpm', key: { name: 'fish', version: '1' } }),
      new DeclarativeContent({ typeId: 'rpm', key: { version: '5.2', name: 'bash' } }),
    ]);
    expect(conduit.calls.findUnitsByKey).toBe(1);
    // the one findUnits call is the one findUnitsByKey made
    expect(conduit.calls.findUnits).toBe(1);
    expect(out.map((dc) => dc.existing?.metadata['n'])).toEqual([2, undefined, 1]);
    expect(out.map((dc) => dc.unit?.unitId)).toEqual([
      InMemoryConduit.unitId('rpm', { name: 'zsh', version: '6' }),
      undefined,
      InMemoryConduit.unitId('rpm', { name: 'bash', version: '5.2' }),
    ]);
  });
});

describe('QueryExistingArtifacts', () => {
  function storeArtifact(conduit: InMemoryConduit, body: string): void {
    conduit.artifacts.set(sha256Of(body), { sha256: sha256Of(body), size: body.length, digests: { sha256: sha256Of(body), md5: md5Of(body), sha512: sha512Of(body) } });
  }
  const artifactContent = (name: string, digests: Record<string, string>, size?: number): DeclarativeContent =>
    new DeclarativeContent({
      typeId: 'file',
      key: { relativePath: name },
      artifacts: [{ url: `http://upstream.test/${name}`, relativePath: name, digests, ...(size !== undefined ? { size } : {}) }],
    });

  it('finds stored bytes by sha256, else by the strongest declared digest, and checks the size', async () => {
    const conduit = new InMemoryConduit();
    storeArtifact(conduit, 'stored one');
    storeArtifact(conduit, 'stored two');
    const contents = [
      artifactContent('by-sha256', { sha256: sha256Of('stored one') }),
      artifactContent('by-sha512', { sha512: sha512Of('stored two'), md5: md5Of('something else') }),
      artifactContent('by-md5', { md5: md5Of('stored two') }, 'stored two'.length),
      artifactContent('md5-but-other-size', { md5: md5Of('stored two') }, 3),
      artifactContent('not-stored', { sha256: sha256Of('new bytes') }),
    ];
    const out = await throughStage(new QueryExistingArtifacts(contextFor(conduit)), contents);
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
    expect(conduit.calls.findArtifacts).toBe(3);
    expect(conduit.calls['findArtifacts:sha512']).toBe(1);
  });

  it('looks up an artifact declared without digests by the sha256 its stored unit has for that path', async () => {
    const conduit = new InMemoryConduit();
    storeArtifact(conduit, 'repomd body');
    const dc = new DeclarativeContent({
      typeId: 'meta',
      key: { name: 'repomd' },
      artifacts: [{ url: 'http://upstream.test/repomd.xml', relativePath: 'repodata/repomd.xml' }],
    });
    dc.existing = {
      unitId: 'm1',
      typeId: 'meta',
      key: { name: 'repomd' },
      metadata: {},
      artifacts: [{ relativePath: 'repodata/repomd.xml', sha256: sha256Of('repomd body') }],
    };
    const [out] = await throughStage(new QueryExistingArtifacts(contextFor(conduit)), [dc]);
    expect(out!.artifacts[0]!.stored?.sha256).toBe(sha256Of('repomd body'));
  });

  it('drops content that was resolved before it arrived', async () => {
    const conduit = new InMemoryConduit();
    const dropped = fileContent('x', 'x');
    dropped.resolve();
    const out = await throughStage(new QueryExistingArtifacts(contextFor(conduit)), [dropped, fileContent('y', 'y')]);
    expect(out.map((dc) => dc.key.relativePath)).toEqual(['y']);
  });
});
