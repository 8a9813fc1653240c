import { ErrorCodes } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { causeCodes, describeError } from '../error-words.js';
import { expectIntactAfterFailure, GUARDED, planFailingSync, prepareGuardedRepository } from '../failing-sync.js';

/**
 * Rule `upstream-error-intact`: when upstream answers 500 for an artifact, the sync fails with a
 * typed error carrying the HTTP status, and the repository stays at its previous version.
 */
export async function checkUpstreamErrorIntact(ctx: ConformanceContext): Promise<void> {
  const rule = 'upstream-error-intact';
  const plan = await planFailingSync(ctx, rule);
  await ctx.withScope(async (scope) => {
    const guarded = await prepareGuardedRepository(ctx, scope, plan, rule);
    for (const path of plan.paths) guarded.upstream.fault(path, { status: 500 });
    const what = `after upstream answered HTTP 500 for ${plan.paths[0]}`;
    let error: unknown;
    try {
      await ctx.sync(guarded.testHost, GUARDED, guarded.upstream, { mirror: true });
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) {
      conformanceFailure(rule, `the sync succeeded although upstream answered HTTP 500 for ${plan.paths.join(', ')}: the importer must not swallow download errors`);
    }
    if (!causeCodes(error).includes(ErrorCodes.HTTP_STATUS)) {
      conformanceFailure(
        rule,
        `${what}, the failure does not carry the upstream's ${ErrorCodes.HTTP_STATUS}: ${describeError(error)}. Let the host's typed error through, or keep it as the \`cause\` of your own`,
        error,
      );
    }
    await expectIntactAfterFailure(ctx, rule, guarded, { error, code: ErrorCodes.SYNC_FAILED, what });
  });
}

/**
 * Rule `corrupt-artifact-intact`: an artifact whose bytes do not match what upstream's metadata says
 * fails the sync with a typed digest (or size) mismatch, and the repository stays as it was.
 */
export async function checkCorruptArtifactIntact(ctx: ConformanceContext): Promise<void> {
  const rule = 'corrupt-artifact-intact';
  const plan = await planFailingSync(ctx, rule);
  await ctx.withScope(async (scope) => {
    const guarded = await prepareGuardedRepository(ctx, scope, plan, rule);
    for (const path of plan.paths) guarded.upstream.corrupt(path);
    const what = `after upstream served a corrupt copy of ${plan.paths[0]}`;
    let error: unknown;
    try {
      await ctx.sync(guarded.testHost, GUARDED, guarded.upstream, { mirror: true });
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) {
      conformanceFailure(
        rule,
        `the sync accepted a corrupt copy of ${plan.paths.join(', ')} (one byte changed): pass the digests and size upstream publishes to each DeclarativeArtifact (or conduit artifact), so the host verifies the bytes`,
      );
    }
    const codes = causeCodes(error);
    if (!codes.includes(ErrorCodes.DIGEST_MISMATCH) && !codes.includes(ErrorCodes.SIZE_MISMATCH)) {
      conformanceFailure(rule, `${what}, the failure does not say the bytes did not match (${ErrorCodes.DIGEST_MISMATCH}): ${describeError(error)}`, error);
    }
    await expectIntactAfterFailure(ctx, rule, guarded, { error, code: ErrorCodes.SYNC_FAILED, what });
  });
}
