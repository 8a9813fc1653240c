import { ErrorCodes } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { causeCodes, describeError } from '../error-words.js';
import {
  canonicalJson,
  describeCounts,
  describeSnapshotDifferences,
  inBoth,
  listUnits,
  missingFrom,
  totalOf,
  unitIdentity,
  unitSet,
} from '../unit-snapshot.js';

/** Rule `unit-keys-declared`: a first sync produces units, each keyed by exactly its type's key fields. */
export async function checkUnitKeysDeclared(ctx: ConformanceContext): Promise<void> {
  const rule = 'unit-keys-declared';
  const types = new Map(ctx.plugin.contentTypes.map((t) => [t.id, t]));
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    try {
      await ctx.sync(testHost, 'first-sync', upstream);
    } catch (error) {
      if (causeCodes(error).includes(ErrorCodes.UNIT_KEY_INVALID)) {
        conformanceFailure(
          rule,
          `the host refused a unit key the importer emitted: ${describeError(error)}.\n` +
            'A unit key must carry exactly the fields its content type lists in keyFields, each a string or a safe integer; ' +
            'put every other value in the unit\'s metadata',
          error,
        );
      }
      conformanceFailure(rule, `the first sync of the fixture's initial state failed: ${describeError(error)}`, error);
    }
    const units = await testHost.units('first-sync');
    if (units.length === 0) {
      conformanceFailure(rule, "the first sync of the fixture's initial state produced no units: check the fixture and the feedPath given to the kit");
    }
    for (const unit of units) {
      const type = types.get(unit.typeId);
      if (!type) conformanceFailure(rule, `unit ${unitIdentity(unit)} has type '${unit.typeId}', which the plugin does not declare in contentTypes`);
      const fields = Object.keys(unit.key);
      const missing = type.keyFields.filter((f) => !fields.includes(f));
      const extra = fields.filter((f) => !type.keyFields.includes(f));
      if (missing.length > 0 || extra.length > 0) {
        conformanceFailure(
          rule,
          `unit ${unitIdentity(unit)} has key fields [${fields.join(', ')}], but type '${type.id}' declares [${type.keyFields.join(', ')}]` +
            (missing.length ? `; missing ${missing.join(', ')}` : '') +
            (extra.length ? `; undeclared ${extra.join(', ')}` : ''),
        );
      }
      for (const [field, value] of Object.entries(unit.key)) {
        if (typeof value !== 'string' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
          conformanceFailure(rule, `key field '${field}' of unit ${unitIdentity(unit)} is ${JSON.stringify(value)}; key values must be strings or safe integers`);
        }
      }
    }
  });
}

/** Rule `resync-idempotent`: syncing the same upstream again (forced, mirror) changes nothing. */
export async function checkResyncIdempotent(ctx: ConformanceContext): Promise<void> {
  const rule = 'resync-idempotent';
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    const first = await ctx.syncExpectingSuccess(rule, "the first sync of the fixture's initial state", testHost, 'resync', upstream);
    const before = unitSet(await testHost.units('resync'));
    const second = await ctx.syncExpectingSuccess(rule, 'the second sync of the same, unchanged upstream', testHost, 'resync', upstream, { mirror: true });
    const after = unitSet(await testHost.units('resync'));
    const { added, updated, removed } = second.report;
    const changes = totalOf(added) + totalOf(updated) + totalOf(removed);
    if (changes > 0 || second.version !== first.version) {
      const appeared = missingFrom(after, before);
      const gone = missingFrom(before, after);
      const metadataChanged = inBoth(before, after).filter((id) => canonicalJson(before.get(id)!.metadata) !== canonicalJson(after.get(id)!.metadata));
      const lines = [
        `a second sync (forced, mirror) of the unchanged upstream added ${describeCounts(added)}, updated ${describeCounts(updated)} and removed ${describeCounts(removed)} units` +
          (second.version !== first.version ? `, and committed version ${second.version} after version ${first.version}` : '') +
          '.',
      ];
      if (appeared.length > 0 || gone.length > 0) {
        lines.push(`Keys that appeared: ${listUnits(appeared)}.`, `Keys that went away: ${listUnits(gone)}.`);
        lines.push('A unit key must be derived only from upstream data: no timestamps, random ids, counters or anything else that differs between two syncs.');
      }
      if (metadataChanged.length > 0) {
        const id = metadataChanged[0] as string;
        lines.push(
          `Metadata changed for ${listUnits(metadataChanged)}; e.g. ${id} went from ${canonicalJson(before.get(id)!.metadata)} to ${canonicalJson(after.get(id)!.metadata)}.`,
          'Metadata must be derived only from upstream data, so syncing the same upstream gives the same metadata.',
        );
      }
      conformanceFailure(rule, lines.join('\n'));
    }
    const differences = describeSnapshotDifferences(before, after);
    if (differences.length > 0) {
      conformanceFailure(rule, `the second sync reported no changes, but the repository's units differ: ${differences.join('; ')}`);
    }
  });
}
