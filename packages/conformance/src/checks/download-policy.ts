import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DIGEST_ALGORITHMS } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { listFiles } from '../test-host.js';
import { listUnits, missingFrom, unitIdentity, unitSet } from '../unit-snapshot.js';

/**
 * Rule `on-demand-defers-downloads`: an on_demand sync fetches no artifact (only what the importer
 * reads, of the types declared in `alwaysDownloadedTypes`), stores no artifact bytes, and records a
 * remote url for every artifact, so the bytes can be fetched later.
 */
export async function checkOnDemand(ctx: ConformanceContext): Promise<void> {
  const rule = 'on-demand-defers-downloads';
  const survey = await ctx.survey('initial', rule);
  const always = ctx.alwaysDownloaded;
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    await ctx.syncExpectingSuccess(rule, 'an on_demand sync of the initial state', testHost, 'on-demand', upstream, { policy: 'on_demand' });
    const units = await testHost.units('on-demand');
    const fetched = [...new Set(upstream.requestedPaths().filter((p) => survey.artifactPaths.has(p)))];
    if (fetched.length > 0) {
      conformanceFailure(
        rule,
        `the on_demand sync downloaded artifact files: ${fetched.slice(0, 5).join(', ')}${fetched.length > 5 ? ` and ${fetched.length - 5} more` : ''}.\n` +
          'Leave DeclarativeArtifact.deferredDownload undefined so the policy decides; if the importer must read these files itself, ' +
          'declare their content type in the kit option alwaysDownloadedTypes',
      );
    }
    const differences = [...missingFrom(survey.units, unitSet(units)), ...missingFrom(unitSet(units), survey.units)];
    if (differences.length > 0) {
      conformanceFailure(rule, `the on_demand sync produced other units than an immediate sync of the same upstream (differing: ${listUnits(differences)}); the policy must change only when bytes are downloaded`);
    }
    const allowed = new Set<string>();
    for (const unit of units) {
      for (const artifact of unit.artifacts) {
        if (always.has(unit.typeId)) {
          if (artifact.sha256) allowed.add(artifact.sha256);
          continue;
        }
        if (artifact.stored) {
          conformanceFailure(rule, `artifact '${artifact.relativePath}' of unit ${unitIdentity(unit)} was stored by an on_demand sync; its bytes must be left upstream until someone asks for them`);
        }
        if (artifact.remoteUrls.length === 0) {
          conformanceFailure(
            rule,
            `artifact '${artifact.relativePath}' of unit ${unitIdentity(unit)} has no remote url recorded, so its bytes could never be fetched on demand: ` +
              'declare each file with a DeclarativeArtifact url (or, conduit-style, an artifact `remote`)',
          );
        }
      }
    }
    const stored = (await listFiles(path.join(testHost.storageRoot, 'artifacts'))).map((f) => path.basename(f));
    const unexpected = stored.filter((sha256) => !allowed.has(sha256));
    if (unexpected.length > 0) {
      conformanceFailure(rule, `the on_demand sync stored ${unexpected.length} file(s) in artifact storage that belong to no always-downloaded content type (sha256 ${unexpected.slice(0, 3).join(', ')})`);
    }
  });
}

/**
 * Rule `immediate-stores-verified`: after an immediate sync every artifact is stored, and hashing the
 * stored file again gives the recorded sha256, size and other digests.
 */
export async function checkImmediate(ctx: ConformanceContext): Promise<void> {
  const rule = 'immediate-stores-verified';
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    await ctx.syncExpectingSuccess(rule, 'an immediate sync of the initial state', testHost, 'immediate', upstream, { policy: 'immediate' });
    for (const unit of await testHost.units('immediate')) {
      for (const artifact of unit.artifacts) {
        const where = `artifact '${artifact.relativePath}' of unit ${unitIdentity(unit)}`;
        if (!artifact.stored || !artifact.sha256) conformanceFailure(rule, `${where} is not stored after an immediate sync`);
        const file = testHost.host.storage.pathFor(artifact.sha256);
        const size = await stat(file).then((s) => s.size, () => undefined);
        if (size === undefined) conformanceFailure(rule, `${where} is recorded as stored, but storage has no file ${file}`);
        if (artifact.size !== null && artifact.size !== size) conformanceFailure(rule, `${where} is recorded with size ${artifact.size}, but the stored file has ${size} bytes`);
        const algorithms = DIGEST_ALGORITHMS.filter((a) => a === 'sha256' || artifact.digests[a] !== undefined);
        const actual = await hashFile(file, algorithms);
        for (const algorithm of algorithms) {
          const recorded = algorithm === 'sha256' ? artifact.sha256 : artifact.digests[algorithm];
          if (recorded?.toLowerCase() !== actual[algorithm]) {
            conformanceFailure(rule, `${where} is recorded with ${algorithm} ${recorded}, but the stored bytes hash to ${actual[algorithm]}`);
          }
        }
      }
    }
  });
}

async function hashFile(file: string, algorithms: readonly string[]): Promise<Record<string, string>> {
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  for await (const chunk of createReadStream(file)) for (const [, hash] of hashes) hash.update(chunk as Buffer);
  return Object.fromEntries(hashes.map(([a, hash]) => [a, hash.digest('hex')]));
}
