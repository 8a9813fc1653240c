import { canonicalUnitKey, ErrorCodes, TributaryError, type CountsByType, type UnitKey } from '@tributary/plugin-api';
import { compileFilter, type UnitFilter } from '../filter/unit-filter.js';
import type { ContentStore, RepositoryRecord, UnitRef } from '../store/content-store.js';
import { unitIdFor } from '../store/unit-id.js';
import type { PluginCatalog } from '../tokens.js';
import type { VersionHistory, VersionOrigin } from './version-history.js';

/** Which units a change is about: keys of one type (a list, or a stream read a batch at a time), or a filter. */
export type UnitSelection = { readonly keys: Iterable<UnitKey> | AsyncIterable<UnitKey> } | { readonly filter: string };

/** What a change of a repository's units did. */
export interface ChangeOutcome {
  readonly repository: string;
  /** The repository's latest version afterwards. */
  readonly version: number;
  /** Whether it committed a new version: a change that changes nothing commits none. */
  readonly newVersion: boolean;
  /** Units added and removed against the version before, by type. */
  readonly added: CountsByType;
  readonly removed: CountsByType;
  /** Units the target showed in another revision than the source, now shown as the source does (copy). */
  readonly replaced?: CountsByType;
  /** Given keys that matched no unit of the repository (remove by keys). */
  readonly unmatched?: number;
  /** Versions retention deleted after the commit. */
  readonly deletedVersions: readonly number[];
  /** What went wrong after the commit (which stands), or what the caller should know. */
  readonly warnings: readonly string[];
}

export interface CopyOptions {
  /** Only units of this type (default: every type). */
  readonly typeId?: string;
  /** Only units the filter matches (see unit-filter.ts). */
  readonly filter?: string;
  /** The source's version (default: its latest). */
  readonly version?: number;
}

interface ChangeContext {
  readonly store: ContentStore;
  readonly plugins: PluginCatalog;
  readonly history: VersionHistory;
  readonly batchSize: number;
  /** Runs `work` holding the repository's lease (TRIBUTARY_ERR_REPO_BUSY when another holds it). */
  withLease<T>(repository: RepositoryRecord, work: () => Promise<T>): Promise<T>;
  /** TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE for a type no plugin declares and `present` does not hold. */
  checkTypeKnown(typeId: string, present: CountsByType): void;
  /** Told of each version a change committed (the host's `version.committed` event). */
  committed?(event: { readonly repository: string; readonly version: number; readonly added: CountsByType; readonly removed: CountsByType }): void;
}

/** What the work of one change reports besides the rows it wrote. */
interface WorkResult {
  readonly replaced?: CountsByType;
  readonly unmatched?: number;
}

/**
 * Changes of what a repository holds that are not syncs: a user adding or removing units (by key
 * or filter), a copy from another repository (or version), a rollback to an older version. Each
 * commits one new version holding the repository's lease (or none when nothing changes), records
 * what made it, and applies retention. Units are read a batch at a time and written in bulk, so
 * memory stays flat however many a change concerns.
 */
export class RepositoryChanges {
  constructor(private readonly ctx: ChangeContext) {}

  /**
   * Adds units of `typeId` the catalog holds (origin 'user': mirror syncs keep them). A key the
   * catalog does not hold, or a filter no unit of the type matches, is TRIBUTARY_ERR_UNIT_NOT_FOUND.
   */
  async add(repository: RepositoryRecord, typeId: string, selection: UnitSelection): Promise<ChangeOutcome> {
    const type = this.ctx.plugins.contentType(typeId);
    const what = describeSelection(typeId, selection);
    return this.commit(repository, { kind: 'modify', note: `add ${what}` }, async (version) => {
      if ('keys' in selection) {
        for await (const keys of batches(selection.keys, this.ctx.batchSize)) {
          const ids = keys.map((key) => unitIdFor(typeId, canonicalUnitKey(type, key)));
          const found = new Map((await this.ctx.store.findUnits(ids)).map((unit) => [unit.unitId, unit.key]));
          const missing = ids.findIndex((id) => !found.has(id));
          if (missing >= 0) {
            throw new TributaryError(ErrorCodes.UNIT_NOT_FOUND, `no '${typeId}' unit with key ${JSON.stringify(keys[missing])} is stored; sync it into some repository first`, {
              details: { typeId, key: keys[missing] },
            });
          }
          await this.ctx.store.associate(repository.id, version, ids.map((unitId) => ({ unitId, typeId, key: found.get(unitId)! })), 'user');
        }
        return {};
      }
      const filter = compileFilter(selection.filter);
      let matched = 0;
      for await (const units of batches(filtered(this.ctx.store.catalogUnits(typeId, { pageSize: this.ctx.batchSize }), filter), this.ctx.batchSize)) {
        matched += units.length;
        await this.ctx.store.associate(repository.id, version, units.map((u) => ({ unitId: u.unitId, typeId, key: u.key })), 'user');
      }
      if (matched === 0) {
        throw new TributaryError(ErrorCodes.UNIT_NOT_FOUND, `filter ${JSON.stringify(filter.text)} matches no '${typeId}' unit in the catalog`, { details: { typeId, filter: filter.text } });
      }
      return {};
    });
  }

  /**
   * Removes units of `typeId` from the repository. Keys of which none is in the repository, or a
   * filter no unit of it matches, are TRIBUTARY_ERR_UNIT_NOT_FOUND; other keys that match nothing
   * are counted (`unmatched`).
   */
  async remove(repository: RepositoryRecord, typeId: string, selection: UnitSelection): Promise<ChangeOutcome> {
    const what = describeSelection(typeId, selection);
    return this.commit(repository, { kind: 'modify', note: `remove ${what}` }, async (version) => {
      const base = version - 1;
      if ('keys' in selection) {
        const type = this.ctx.plugins.contentType(typeId);
        let given = 0;
        let removed = 0;
        let firstKey: UnitKey | undefined;
        for await (const keys of batches(selection.keys, this.ctx.batchSize)) {
          firstKey ??= keys[0];
          const ids = [...new Set(keys.map((key) => unitIdFor(typeId, canonicalUnitKey(type, key))))];
          given += ids.length;
          removed += total(await this.ctx.store.unassociate(repository.id, version, ids));
        }
        if (removed === 0) {
          throw new TributaryError(
            ErrorCodes.UNIT_NOT_FOUND,
            given === 1
              ? `no '${typeId}' unit with key ${JSON.stringify(firstKey)} is in repository '${repository.name}' (version ${base})`
              : `none of the ${given} '${typeId}' keys given matches a unit of repository '${repository.name}' (version ${base})`,
            { details: { repository: repository.name, typeId, ...(given === 1 ? { key: firstKey } : { keys: given }) } },
          );
        }
        return { unmatched: given - removed };
      }
      const filter = compileFilter(selection.filter);
      const counts = await this.ctx.store.countRepoUnits(repository.id, base);
      if (!(typeId in counts)) this.ctx.checkTypeKnown(typeId, counts);
      let matched = 0;
      const units = this.ctx.store.repoUnits(repository.id, base, { typeId, pageSize: this.ctx.batchSize });
      for await (const chunk of batches(filtered(units, filter), this.ctx.batchSize)) {
        matched += chunk.length;
        await this.ctx.store.unassociate(repository.id, version, chunk.map((u) => u.unitId));
      }
      if (matched === 0) {
        throw new TributaryError(
          ErrorCodes.UNIT_NOT_FOUND,
          `filter ${JSON.stringify(filter.text)} matches no '${typeId}' unit of repository '${repository.name}' (version ${base})`,
          { details: { repository: repository.name, typeId, filter: filter.text } },
        );
      }
      return {};
    });
  }

  /**
   * Copies units of a version of `source` (default its latest) into one new version of `target`, by
   * reference: units are shared by id, so the target's rows name them in the revision the source
   * version shows, with their stored files and remote sources. A filter (or type) that matches
   * nothing is TRIBUTARY_ERR_UNIT_NOT_FOUND.
   */
  async copy(source: RepositoryRecord, target: RepositoryRecord, options: CopyOptions = {}): Promise<ChangeOutcome> {
    const version = await this.ctx.history.check(source, options.version);
    const filter = options.filter === undefined ? undefined : compileFilter(options.filter);
    const counts = await this.ctx.store.countRepoUnits(source.id, version);
    if (options.typeId !== undefined && !(options.typeId in counts)) this.ctx.checkTypeKnown(options.typeId, counts);
    const types = options.typeId !== undefined ? [options.typeId] : Object.keys(counts).sort();
    const note = `copy from '${source.name}' version ${version}${options.typeId ? ` of type ${options.typeId}` : ''}${filter ? ` where ${filter.text}` : ''}`;
    const warnings: string[] = [];
    // on-demand files are fetched with the target's feed rules: a file: url only for a file: feed
    if (source.feedUrl?.startsWith('file:') && !target.feedUrl?.startsWith('file:')) {
      warnings.push(`'${source.name}' syncs from a file: feed: files of its units that are not stored cannot be fetched on demand for '${target.name}', whose feed is not file:`);
    }
    const outcome = await this.commit(target, { kind: 'copy', note }, async (into) => {
      const replaced: CountsByType = {};
      let matched = 0;
      for (const typeId of types) {
        // without a filter the keys are enough; with one, the metadata too
        const units: AsyncIterable<UnitRef> = filter
          ? filtered(this.ctx.store.repoUnits(source.id, version, { typeId, pageSize: this.ctx.batchSize }), filter)
          : this.ctx.store.repoUnitKeys(source.id, version, typeId);
        for await (const chunk of batches(units, this.ctx.batchSize)) {
          matched += chunk.length;
          const result = await this.ctx.store.copyContent(target.id, into, { repoId: source.id, version }, chunk.map(({ unitId, typeId: type }) => ({ unitId, typeId: type })));
          for (const [type, n] of Object.entries(result.replaced)) replaced[type] = (replaced[type] ?? 0) + n;
        }
      }
      if (matched === 0) {
        throw new TributaryError(
          ErrorCodes.UNIT_NOT_FOUND,
          `${filter ? `filter ${JSON.stringify(filter.text)} matches no` : 'there is no'} ${options.typeId ? `'${options.typeId}' ` : ''}unit in repository '${source.name}' version ${version}`,
          { details: { repository: source.name, version, ...(options.typeId ? { typeId: options.typeId } : {}), ...(filter ? { filter: filter.text } : {}) } },
        );
      }
      return { replaced };
    });
    return { ...outcome, warnings: [...warnings, ...outcome.warnings] };
  }

  /**
   * Commits a new version holding exactly what `version` holds (each unit in the revision and with
   * the origin it showed): history stays linear. Rolling back to the latest commits nothing.
   */
  async rollback(repository: RepositoryRecord, version: number): Promise<ChangeOutcome> {
    await this.ctx.history.check(repository, version);
    return this.commit(repository, { kind: 'rollback', note: `rollback to version ${version}` }, async (into) => {
      // deleted meanwhile (the check above ran before the lease)?
      await this.ctx.history.check({ ...repository, latestVersion: into - 1 }, version);
      await this.ctx.store.restoreVersion(repository.id, into, version);
      return {};
    });
  }

  /**
   * Holding the repository's lease: begins a version, lets `work` write it, and commits it when it
   * holds anything other than the version before (else rolls it back: no empty version), then
   * records what made it and applies retention. Any failure rolls the version back.
   */
  private async commit(repository: RepositoryRecord, origin: VersionOrigin, work: (version: number) => Promise<WorkResult>): Promise<ChangeOutcome> {
    return this.ctx.withLease(repository, async () => {
      const store = this.ctx.store;
      const version = await store.beginVersion(repository.id);
      try {
        const result = await work(version);
        const extra = { ...(result.replaced ? { replaced: result.replaced } : {}), ...(result.unmatched !== undefined ? { unmatched: result.unmatched } : {}) };
        if (!(await store.versionChanged(repository.id, version))) {
          await store.rollbackVersion(repository.id, version);
          return { repository: repository.name, version: version - 1, newVersion: false, added: {}, removed: {}, ...extra, deletedVersions: [], warnings: [] };
        }
        const changes = await store.countVersionChanges(repository.id, version - 1, version);
        await store.commitVersion(repository.id, version);
        this.ctx.committed?.({ repository: repository.name, version, added: changes.added, removed: changes.removed });
        const { deleted, warnings } = await this.ctx.history.committed(repository, version, origin, changes);
        return { repository: repository.name, version, newVersion: true, added: changes.added, removed: changes.removed, ...extra, deletedVersions: deleted, warnings };
      } catch (error) {
        await store.rollbackVersion(repository.id, version).catch(() => undefined);
        throw error;
      }
    });
  }
}

function describeSelection(typeId: string, selection: UnitSelection): string {
  return 'filter' in selection ? `'${typeId}' units where ${selection.filter}` : `'${typeId}' units by key`;
}

/** The units `filter` matches, as they stream by. */
async function* filtered<T extends { key: Readonly<Record<string, unknown>>; metadata: Readonly<Record<string, unknown>> }>(units: AsyncIterable<T>, filter: UnitFilter): AsyncIterable<T> {
  for await (const unit of units) if (filter.matches(unit)) yield unit;
}

/** `items` in arrays of at most `size`, read as they are needed. */
async function* batches<T>(items: Iterable<T> | AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function total(counts: CountsByType): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}
