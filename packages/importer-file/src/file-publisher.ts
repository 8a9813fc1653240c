import type { PublisherDefinition, PublishContext } from '@tributary/plugin-api';
import { FILE_CONTENT_TYPE } from './file-content-type.js';

export interface FilePublishOptions {
  /** Name of the generated manifest at the tree's root. */
  readonly manifest: string;
}

/**
 * Publishes a file repository as Pulp does: every file at its relative path, plus a
 * `PULP_MANIFEST` (`relative_path,sha256,size` per line) that Tributary's or Pulp's file importer
 * can sync from again. The manifest is read back from the tree, in path order: one line per file
 * served, whatever units claimed the same path (an additive sync keeps a file's old content
 * beside its new one; the first in the version's order is published), streamed (flat memory).
 */
export const filePublisher: PublisherDefinition<FilePublishOptions> = {
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      manifest: { type: 'string', pattern: '^[A-Za-z0-9._-]+$', default: 'PULP_MANIFEST', description: 'name of the generated manifest' },
    },
  },
  async publish(ctx) {
    for await (const units of ctx.units({ typeId: FILE_CONTENT_TYPE.id })) {
      const artifacts = [];
      for (const unit of units) {
        const relativePath = String(unit.key['relativePath']);
        if (relativePath === ctx.options.manifest) {
          ctx.log.warn(`a file named '${relativePath}' is left out: the generated manifest takes its place`);
          continue;
        }
        const artifact = unit.artifacts.find((a) => a.relativePath === relativePath) ?? unit.artifacts[0];
        if (artifact) artifacts.push({ path: relativePath, artifact });
      }
      await ctx.addArtifacts(artifacts);
    }
    let files = 0;
    const manifest = await ctx.addFile(ctx.options.manifest, manifestLines(ctx, () => files++));
    ctx.log.info(`${files} files, ${ctx.options.manifest} of ${manifest.size} bytes`);
    return { info: { files, manifest: ctx.options.manifest } };
  },
};

async function* manifestLines(ctx: PublishContext<FilePublishOptions>, counted: () => void): AsyncGenerator<Buffer> {
  for await (const entries of ctx.published()) {
    let text = '';
    for (const entry of entries) {
      if (entry.kind !== 'artifact' || entry.digests.sha256 === undefined) continue;
      text += `${entry.path},${entry.digests.sha256},${entry.size ?? 0}\n`;
      counted();
    }
    yield Buffer.from(text);
  }
}
