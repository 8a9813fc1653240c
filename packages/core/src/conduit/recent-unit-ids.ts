import type { UnitKey } from '@tributary/plugin-api';

/**
 * Unit ids of the key objects a conduit saw last, per content type: a pipeline looks content up
 * and, a few thousand items later, saves it with the same key object, and hashing the canonical
 * key is a measurable share of a sync. Two generations of `generationSize` keys per type: the
 * older is dropped whole when the newer fills, so at least the last `generationSize` keys of a
 * type are remembered and at most twice that many are held. A forgotten key only costs its hash.
 *
 * Not a WeakMap: one holding a key per unit of a sync makes every scavenge of the main thread walk
 * its entries.
 */
export class RecentUnitIds {
  private readonly byType = new Map<string, { current: Map<UnitKey, string>; previous: Map<UnitKey, string> }>();

  constructor(private readonly generationSize: number) {}

  get(typeId: string, key: UnitKey): string | undefined {
    const recent = this.byType.get(typeId);
    if (recent === undefined) return undefined;
    return recent.current.get(key) ?? recent.previous.get(key);
  }

  set(typeId: string, key: UnitKey, unitId: string): void {
    let recent = this.byType.get(typeId);
    if (recent === undefined) this.byType.set(typeId, (recent = { current: new Map(), previous: new Map() }));
    else if (recent.current.size >= this.generationSize) {
      recent.previous = recent.current;
      recent.current = new Map();
    }
    recent.current.set(key, unitId);
  }
}
