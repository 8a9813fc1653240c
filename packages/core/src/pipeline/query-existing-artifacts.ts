import { Stage, type ArtifactRecord, type DeclarativeArtifact, type DeclarativeContent, type DigestAlgorithm } from '@tributary/plugin-api';
import { batchSizeOf, FIRST_BATCH_SIZE, type PipelineContext } from './pipeline-context.js';

/**
 * sha256 first (the artifact's identity in storage), then the strongest other digest. A match
 * found through any digest must also agree with the declared size and every other declared digest
 * the stored record knows, which guards against collisions of the weak ones.
 */
const LOOKUP_ORDER: readonly DigestAlgorithm[] = ['sha256', 'sha512', 'sha384', 'sha224', 'sha1', 'md5'];

interface Lookup {
  readonly algorithm: DigestAlgorithm;
  readonly digest: string;
  readonly artifact: DeclarativeArtifact;
}

/**
 * Finds, per batch and with one `findArtifacts` call per digest algorithm in use, the artifacts
 * whose bytes are already in storage, and sets their `stored` record so nothing downloads twice.
 * An artifact declared without digests is looked up by the sha256 its stored unit already has for
 * the same relative path.
 */
export class QueryExistingArtifacts extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('QueryExistingArtifacts');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx), { firstBatch: FIRST_BATCH_SIZE })) {
      const live = batch.filter((dc) => !dc.resolved);
      const byAlgorithm = new Map<DigestAlgorithm, Map<string, Lookup[]>>();
      for (const dc of live) {
        for (const artifact of dc.artifacts) {
          if (artifact.stored || artifact.downloaded) continue;
          const lookup = lookupOf(dc, artifact);
          if (!lookup) continue;
          let byDigest = byAlgorithm.get(lookup.algorithm);
          if (!byDigest) byAlgorithm.set(lookup.algorithm, (byDigest = new Map()));
          const same = byDigest.get(lookup.digest);
          if (same) same.push(lookup);
          else byDigest.set(lookup.digest, [lookup]);
        }
      }
      for (const [algorithm, byDigest] of byAlgorithm) {
        const records = await this.ctx.conduit.findArtifacts(algorithm, [...byDigest.keys()]);
        for (const record of records) {
          const digest = digestOf(record, algorithm);
          for (const lookup of (digest && byDigest.get(digest)) || []) {
            if (!lookup.artifact.stored && agrees(record, lookup.artifact)) lookup.artifact.stored = record;
          }
        }
      }
      await this.putAll(live);
    }
  }
}

function lookupOf(dc: DeclarativeContent, artifact: DeclarativeArtifact): Lookup | undefined {
  for (const algorithm of LOOKUP_ORDER) {
    const digest = artifact.digests[algorithm];
    if (digest) return { algorithm, digest: digest.toLowerCase(), artifact };
  }
  const row = dc.existing?.artifacts.find((a) => a.relativePath === artifact.relativePath);
  if (row?.sha256) return { algorithm: 'sha256', digest: row.sha256.toLowerCase(), artifact };
  return undefined;
}

function digestOf(record: ArtifactRecord, algorithm: DigestAlgorithm): string | undefined {
  return (algorithm === 'sha256' ? record.sha256 : record.digests[algorithm])?.toLowerCase();
}

function agrees(record: ArtifactRecord, artifact: DeclarativeArtifact): boolean {
  if (artifact.size !== undefined && record.size !== artifact.size) return false;
  for (const algorithm of LOOKUP_ORDER) {
    const declared = artifact.digests[algorithm];
    const known = digestOf(record, algorithm);
    if (declared && known && declared.toLowerCase() !== known) return false;
  }
  return true;
}
