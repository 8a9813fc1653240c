/** {@link KnownUnitRows.row}'s answer for a unit id the catalog does not hold. */
export const ABSENT = 0;

/**
 * What the catalog's unit reads and writes may remember of units' rows from one call to the next
 * (the write path's row cache, SqliteUnitRows, answers it): each unit id's `units.id` or that the
 * catalog has none, and which units were created and not associated yet. Every answer is one the
 * connection could have read itself; an unknown unit is simply looked up.
 */
export interface KnownUnitRows {
  /** Forgets what may be stale; call it inside the transaction that uses what is remembered. */
  validate(): void;
  clear(): void;
  /** `units.id` of the unit, {@link ABSENT} if the catalog has none, undefined if not known here. */
  row(unitId: string): number | undefined;
  remember(unitId: string, row: number): void;
  /** This connection just created the unit: no repository-content row refers to it yet. */
  rememberCreated(unitId: string, row: number): void;
  /** True while the unit is known to be in no repository-content row at all. */
  isUnassociated(unitId: string): boolean;
  associated(unitId: string): void;
}
