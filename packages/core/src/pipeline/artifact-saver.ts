import { ErrorCodes, Stage, TributaryError, type ArtifactRecord, type DeclarativeArtifact, type DownloadedFile } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';

/**
 * Hands the files ArtifactDownloader fetched to the conduit, one `saveArtifacts` call per batch,
 * which moves them into content-addressed storage; sets each artifact's `stored` record.
 */
export class ArtifactSaver extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('ArtifactSaver');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx))) {
      const live = batch.filter((dc) => !dc.resolved);
      const pending: { artifact: DeclarativeArtifact; file: DownloadedFile }[] = [];
      for (const dc of live) {
        for (const artifact of dc.artifacts) {
          if (artifact.downloaded && !artifact.stored) pending.push({ artifact, file: artifact.downloaded });
        }
      }
      if (pending.length > 0) {
        const records = await this.ctx.conduit.saveArtifacts(pending.map((p) => p.file));
        const bySha256 = new Map<string, ArtifactRecord>();
        for (const record of records) bySha256.set(record.sha256.toLowerCase(), record);
        for (const { artifact, file } of pending) {
          const record = bySha256.get(file.digests.sha256.toLowerCase());
          if (!record) {
            throw new TributaryError(
              ErrorCodes.STORAGE,
              `artifact '${artifact.relativePath}' (sha256 ${file.digests.sha256}) was handed to storage but not recorded`,
              { details: { relativePath: artifact.relativePath, sha256: file.digests.sha256 } },
            );
          }
          artifact.stored = record;
          artifact.downloaded = undefined;
        }
      }
      await this.putAll(live);
    }
  }
}
