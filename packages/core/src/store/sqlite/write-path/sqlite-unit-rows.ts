import type { Database, Statement } from 'better-sqlite3';
import type { KnownUnitRows } from '../catalog/known-unit-rows.js';
import type { SqliteGroupCommit } from './sqlite-group-commit.js';

/**
 * What one connection learned about units' rows during the last few batches, so a sync does not
 * look every unit up three times: QueryExistingContents' `findUnits`, ContentSaver's `upsertUnits`
 * and ContentAssociation's `associate` each see the same units a moment apart. It remembers
 * - each unit id's `units.id`, or that the catalog has no such unit (from `findUnits`), and
 * - which units this connection created and has not associated yet: such a unit has no
 *   repository-content row anywhere, so associating it needs no look-up of existing rows.
 *
 * It is only ever an answer this connection could have read itself:
 * - `PRAGMA data_version` changes when another connection commits, and {@link validate} (called
 *   inside every transaction that uses the cache) then forgets everything;
 * - {@link validate} also forgets everything after a group commit was lost (its rows are gone),
 *   and the store forgets everything when one of its own writes fails (its savepoint was rolled
 *   back) and when units are deleted.
 * It is bounded: past `capacity` unit ids the oldest are forgotten, and a forgotten unit is simply
 * looked up again. The default, 20,000, is four times what the pipeline's bounded queues hold
 * between QueryExistingContents and ContentAssociation (a few thousand units).
 */
export class SqliteUnitRows implements KnownUnitRows {
  private readonly rows = new Map<string, number>();
  private readonly created = new Set<string>();
  private readonly dataVersion: Statement;
  private seenDataVersion = -1;
  private seenLosses = 0;

  constructor(
    db: Database,
    private readonly group: SqliteGroupCommit,
    private readonly capacity = 20_000,
  ) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /**
   * Forgets everything if another connection committed, or a group of this one was lost, since
   * the last call. Call it inside the transaction that uses what it remembers.
   */
  validate(): void {
    const version = this.dataVersion.get() as number;
    if (version !== this.seenDataVersion || this.group.losses !== this.seenLosses) {
      this.clear();
      this.seenDataVersion = version;
      this.seenLosses = this.group.losses;
    }
  }

  clear(): void {
    this.rows.clear();
    this.created.clear();
  }

  /** `units.id` of the unit, ABSENT if the catalog has none, undefined if not known here. */
  row(unitId: string): number | undefined {
    return this.rows.get(unitId);
  }

  remember(unitId: string, row: number): void {
    if (this.rows.size >= this.capacity) this.forgetOldest();
    this.rows.set(unitId, row);
  }

  /** This connection just created the unit: no repository-content row refers to it yet. */
  rememberCreated(unitId: string, row: number): void {
    this.remember(unitId, row);
    this.created.add(unitId);
  }

  /** True while the unit is known to be in no repository-content row at all. */
  isUnassociated(unitId: string): boolean {
    return this.created.has(unitId);
  }

  associated(unitId: string): void {
    this.created.delete(unitId);
  }

  private forgetOldest(): void {
    let toForget = Math.ceil(this.capacity / 4);
    for (const unitId of this.rows.keys()) {
      this.rows.delete(unitId);
      this.created.delete(unitId);
      if (--toForget === 0) break;
    }
  }
}
