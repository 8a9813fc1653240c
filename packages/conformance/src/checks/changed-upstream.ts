import type { RepoUnitView } from '@tributary/core';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { describeError } from '../error-words.js';
import {
  artifactSignature,
  canonicalJson,
  countByType,
  describeCounts,
  inBoth,
  listUnits,
  missingFrom,
  sameCounts,
  unitSet,
  type UnitSet,
} from '../unit-snapshot.js';

/**
 * Rule `unit-keys-stable`: a unit whose files did not change upstream keeps its key, and syncing
 * from the initial to the changed state adds exactly the new keys, removes exactly the vanished
 * ones and counts metadata changes of the others as updates.
 */
export async function checkUnitKeysStable(ctx: ConformanceContext): Promise<void> {
  const rule = 'unit-keys-stable';
  const initial = await ctx.survey('initial', rule);
  const changed = await ctx.survey('changed', rule);
  checkSameFilesSameKey(initial.units, changed.units);

  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    await ctx.syncExpectingSuccess(rule, "the sync of the fixture's initial state", testHost, 'stable', upstream);
    upstream.serve(changed.state);
    const outcome = await ctx.syncExpectingSuccess(rule, "the mirror sync from the initial to the changed state", testHost, 'stable', upstream, { mirror: true });
    const after = unitSet(await testHost.units('stable'));
    const kept = inBoth(initial.units, changed.units);
    const expectedAdded = countByType(missingFrom(changed.units, initial.units));
    const expectedRemoved = countByType(missingFrom(initial.units, changed.units));
    const { added, updated, removed } = outcome.report;
    if (!sameCounts(added, expectedAdded) || !sameCounts(removed, expectedRemoved)) {
      conformanceFailure(
        rule,
        `the mirror sync from the initial to the changed state reported ${describeCounts(added)} units added and ${describeCounts(removed)} removed, ` +
          `but by key ${describeCounts(expectedAdded)} are new upstream and ${describeCounts(expectedRemoved)} disappeared.\n` +
          `Units present in both states (${listUnits(kept)}) must stay in the repository and be updated in place, not removed and added again.`,
      );
    }
    const metadataChanged = kept.filter((id) => canonicalJson(initial.units.get(id)!.metadata) !== canonicalJson(changed.units.get(id)!.metadata));
    const expectedUpdated = countByType(metadataChanged);
    for (const [typeId, count] of Object.entries(expectedUpdated)) {
      if ((updated[typeId] ?? 0) < count) {
        conformanceFailure(
          rule,
          `${count} '${typeId}' unit(s) kept their key but changed metadata upstream (${listUnits(metadataChanged)}), yet the sync reported ${updated[typeId] ?? 0} updated: metadata changes must be saved as updates of the existing unit`,
        );
      }
    }
    const stale = metadataChanged.filter((id) => canonicalJson(after.get(id)?.metadata) !== canonicalJson(changed.units.get(id)!.metadata));
    if (stale.length > 0) {
      conformanceFailure(rule, `after the sync to the changed state, units still carry the initial state's metadata: ${listUnits(stale)}`);
    }
  });
}

/** A unit whose files (paths and digests) are the same in both states must have the same key in both. */
function checkSameFilesSameKey(initial: UnitSet, changed: UnitSet): void {
  /** Identity by what the unit's files are; a signature several units share identifies none of them. */
  const bySignature = (units: UnitSet): Map<string, { id: string; unit: RepoUnitView } | null> => {
    const map = new Map<string, { id: string; unit: RepoUnitView } | null>();
    for (const [id, unit] of units) {
      if (unit.artifacts.length === 0 || unit.artifacts.some((a) => !a.sha256)) continue;
      const signature = `${unit.typeId}\n${artifactSignature(unit)}`;
      map.set(signature, map.has(signature) ? null : { id, unit });
    }
    return map;
  };
  const after = bySignature(changed);
  // by path, so the unit named is the same whatever order the sync stored them in
  const paths = (entry: { unit: RepoUnitView } | null) => entry?.unit.artifacts.map((a) => a.relativePath).join(', ') ?? '';
  const initialOnes = [...bySignature(initial)].sort(([, a], [, b]) => (paths(a) < paths(b) ? -1 : paths(a) > paths(b) ? 1 : 0));
  for (const [signature, before] of initialOnes) {
    const later = after.get(signature);
    if (!before || !later || before.id === later.id) continue;
    conformanceFailure(
      'unit-keys-stable',
      `a unit whose files did not change upstream (${before.unit.artifacts.map((a) => a.relativePath).join(', ')}) has key ${before.id} in the initial state but ${later.id} in the changed state.\n` +
        'Derive a unit key only from what identifies the unit upstream (its name, path or checksum), not from its position in an index, other units or the time of the sync',
    );
  }
}

/**
 * Rule `mirror-removes-keeps-user`: a sync without mirror removes nothing; a mirror sync removes
 * what disappeared upstream, but keeps units a user added to the repository.
 */
export async function checkMirror(ctx: ConformanceContext): Promise<void> {
  const rule = 'mirror-removes-keeps-user';
  const initial = await ctx.survey('initial', rule);
  const changed = await ctx.survey('changed', rule);
  const replaced = new Set(ctx.options.replacedTypes ?? []);
  // units of replaced types go away in any sync, so the user's unit is one of another type
  const vanished = missingFrom(initial.units, changed.units).filter((id) => !replaced.has(initial.units.get(id)!.typeId));
  if (vanished.length === 0) {
    conformanceFailure(
      rule,
      `the fixture's changed state keeps every unit of the initial state${replaced.size ? ' (other than units of replacedTypes)' : ''}, so mirror removal cannot be checked: ` +
        'remove at least one unit (e.g. a file) in the changed state',
    );
  }
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const { host } = testHost;
    const initialUpstream = await scope.upstream('initial');
    const changedUpstream = await scope.upstream('changed');
    await ctx.syncExpectingSuccess(rule, "the sync of the fixture's initial state into repository 'mirrored'", testHost, 'mirrored', initialUpstream);
    await ctx.syncExpectingSuccess(rule, "the sync of the fixture's changed state into repository 'curated'", testHost, 'curated', changedUpstream);

    // A user puts a unit that is gone upstream into 'curated' (it is stored, thanks to 'mirrored').
    const userUnit = initial.units.get(vanished[0] as string)!;
    try {
      await host.associateUnits('curated', userUnit.typeId, [userUnit.key]);
    } catch (error) {
      conformanceFailure(rule, `the kit could not add unit ${vanished[0]} to a repository as a user would: ${describeError(error)}`, error);
    }

    await ctx.syncExpectingSuccess(rule, 'a sync without mirror to the changed state', testHost, 'mirrored', changedUpstream);
    const kept = [...initial.units].filter(([id, unit]) => changed.units.has(id) || !replaced.has(unit.typeId)).map(([id]) => id);
    const union = new Set([...kept, ...changed.units.keys()]);
    expectUnits(
      rule,
      unitSet(await testHost.units('mirrored')),
      union,
      `after a sync without mirror (which must remove nothing${replaced.size ? ' but units of replacedTypes' : ''}; declare types the importer always replaces in the kit option replacedTypes)`,
    );

    await ctx.syncExpectingSuccess(rule, 'a mirror sync to the changed state', testHost, 'mirrored', changedUpstream, { mirror: true });
    expectUnits(rule, unitSet(await testHost.units('mirrored')), new Set(changed.units.keys()), 'after a mirror sync to the changed state (which must hold exactly what upstream has)');

    await ctx.syncExpectingSuccess(rule, "a mirror sync of repository 'curated', holding a unit a user added", testHost, 'curated', changedUpstream, { mirror: true });
    const curated = unitSet(await testHost.units('curated'));
    const userUnitNow = curated.get(vanished[0] as string);
    if (!userUnitNow) {
      conformanceFailure(
        rule,
        `the mirror sync removed ${vanished[0]}, which a user had added to the repository (origin 'user').\n` +
          "A mirror removes only what the sync itself brought: a conduit-style importer must skip units whose origin is 'user' (unitKeysForRepo tells it) or call conduit.unassociateUnseen()",
      );
    }
    if (userUnitNow.origin !== 'user') conformanceFailure(rule, `unit ${vanished[0]}, added by a user, now has origin '${userUnitNow.origin}' instead of 'user'`);
    expectUnits(rule, curated, new Set([...changed.units.keys(), vanished[0] as string]), 'after a mirror sync of a repository holding a user-added unit');
  });
}

function expectUnits(rule: 'mirror-removes-keeps-user', actual: UnitSet, expected: ReadonlySet<string>, when: string): void {
  const missing = [...expected].filter((id) => !actual.has(id));
  const extra = [...actual.keys()].filter((id) => !expected.has(id));
  if (missing.length > 0 || extra.length > 0) {
    conformanceFailure(
      rule,
      `${when}, the repository ${missing.length ? `lacks ${listUnits(missing)}` : ''}${missing.length && extra.length ? ' and ' : ''}${extra.length ? `still holds ${listUnits(extra)}` : ''}`,
    );
  }
}
