import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { listFiles } from '../test-host.js';

/** Syncs of the same upstream the kit runs before comparing the working area. */
const SYNCS = 3;

/**
 * Rule `working-area-bounded`: `ctx.workingDir` lives as long as the repository, so scratch files
 * left there pile up sync after sync. The kit syncs the same upstream several times (forced): after
 * the first, the working area must not grow. And `working/` holds only the repositories' own
 * directories: nothing beside them.
 */
export async function checkWorkingAreaBounded(ctx: ConformanceContext): Promise<void> {
  const rule = 'working-area-bounded';
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    const workingRoot = path.join(testHost.storageRoot, 'working');
    const snapshot = async () => {
      const files = await listFiles(workingRoot);
      let bytes = 0;
      for (const file of files) bytes += (await stat(file).catch(() => undefined))?.size ?? 0;
      return { files, bytes };
    };
    await ctx.syncExpectingSuccess(rule, "the first sync of the fixture's initial state", testHost, 'working', upstream);
    const first = await snapshot();
    for (let i = 2; i <= SYNCS; i++) await ctx.syncExpectingSuccess(rule, `sync ${i} of the same upstream`, testHost, 'working', upstream);
    const last = await snapshot();
    if (last.files.length > first.files.length || last.bytes > first.bytes) {
      const known = new Set(first.files);
      const added = last.files.filter((f) => !known.has(f)).map((f) => path.relative(workingRoot, f));
      conformanceFailure(
        rule,
        `the working area grew from ${first.files.length} files (${first.bytes} bytes) after the first sync to ${last.files.length} (${last.bytes} bytes) after ${SYNCS} syncs of the same upstream` +
          `${added.length ? `; new: ${added.slice(0, 3).join(', ')}${added.length > 3 ? ', …' : ''}` : ''}.\n` +
          'ctx.workingDir lives as long as the repository: reuse fixed names there (a cache), or delete scratch files before run() returns; downloads go to the host\'s temporary area by themselves',
      );
    }
    const repository = await testHost.host.getRepository('working');
    const owned = new Set([String((repository as { id?: unknown }).id)]);
    const beside = (await readdir(workingRoot, { withFileTypes: true }).catch(() => [])).filter((e) => !e.isDirectory() || !owned.has(e.name)).map((e) => e.name);
    const storageStray = (await readdir(testHost.storageRoot)).filter((e) => !['artifacts', 'tmp', 'working'].includes(e) && !e.startsWith('catalog.db'));
    if (beside.length > 0 || storageStray.length > 0) {
      conformanceFailure(
        rule,
        `entries appeared in the storage area beside the repository's working directory: ${[...beside.map((e) => `working/${e}`), ...storageStray].join(', ')}.\n` +
          'Write only inside ctx.workingDir itself, never next to it (path.dirname(workingDir) belongs to the host)',
      );
    }
  });
}
