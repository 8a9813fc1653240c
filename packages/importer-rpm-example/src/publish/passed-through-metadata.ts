import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DigestAlgorithm, PublishContext, PublishUnit } from '@tributary/plugin-api';
import { detectCompression, readDecompressed } from '../compression/metadata-compression.js';
import type { RepodataRecord } from './repodata-document.js';
import type { ChosenRepomd } from './upstream-repodata.js';

/**
 * Metadata that describes no package file and that generated repodata carries over as upstream
 * wrote it: comps (`group` and its compressed copies) and modules. Nothing else is: sqlite
 * databases, zchunk files, deltas and the like describe upstream's package set.
 */
const PASSED_THROUGH = new Set(['group', 'group_gz', 'group_xz', 'group_bz2', 'group_zst', 'modules']);

/**
 * The comps and modules files of the version, published under `repodata/` with their records
 * (checksums of type `checksumType`, taken from the stored bytes). They come from the repomd.xml
 * upstream's repodata would be published from, when there is one; else, per type, from the unit
 * with the newest timestamp. Files not stored are left out (metadata is always downloaded, so
 * only a version made by hand lacks them).
 */
export async function publishPassedThrough(
  ctx: PublishContext<{ readonly maxMetadataBytes: number }>,
  metadataUnits: readonly PublishUnit[],
  chosen: ChosenRepomd | undefined,
  checksumType: DigestAlgorithm,
): Promise<RepodataRecord[]> {
  const picked = new Map<string, PublishUnit>();
  if (chosen) {
    for (const { record, unit } of chosen.files) if (PASSED_THROUGH.has(record.type) && !picked.has(record.type)) picked.set(record.type, unit);
  } else {
    for (const unit of metadataUnits) {
      const type = String(unit.key['dataType']);
      if (!PASSED_THROUGH.has(type) || !unit.artifacts[0]?.stored) continue;
      const held = picked.get(type);
      if (!held || timestampOf(unit) > timestampOf(held) || (timestampOf(unit) === timestampOf(held) && unit.unitId < held.unitId)) picked.set(type, unit);
    }
  }
  const records: RepodataRecord[] = [];
  for (const [type, unit] of [...picked].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const artifact = unit.artifacts[0];
    if (!artifact?.stored || artifact.sha256 === null) {
      ctx.log.warn(`metadata file '${type}' (${String(unit.key['relativePath'])}) is not stored: it is left out`);
      continue;
    }
    const file = ctx.artifactPath(artifact.sha256);
    const relativePath = String(unit.key['relativePath']);
    const href = `repodata/${relativePath.slice(relativePath.lastIndexOf('/') + 1)}`;
    await ctx.addArtifacts([{ path: href, artifact }]);
    const checksum = checksumType === 'sha256' ? artifact.sha256 : await digestOf(createReadStream(file), checksumType);
    const compression = await detectCompression(file, relativePath);
    let open: { checksum: string; size: number } | undefined;
    if (compression !== 'none') {
      let size = 0;
      const hash = createHash(checksumType);
      for await (const chunk of readDecompressed(file, { source: `${type} metadata ${relativePath}`, compression, maxBytes: ctx.options.maxMetadataBytes, signal: ctx.signal })) {
        hash.update(chunk);
        size += chunk.length;
      }
      open = { checksum: hash.digest('hex'), size };
    }
    records.push({
      type,
      href,
      checksumType,
      checksum,
      size: artifact.size ?? 0,
      ...(open ? { openChecksum: open.checksum, openSize: open.size } : {}),
      timestamp: timestampOf(unit),
    });
  }
  return records;
}

function timestampOf(unit: PublishUnit): number {
  const value = unit.metadata['timestamp'];
  return typeof value === 'number' ? value : 0;
}

async function digestOf(chunks: AsyncIterable<Buffer>, algorithm: DigestAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}
