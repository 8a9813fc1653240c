interface Waiter {
  grant: () => void;
  settled: boolean;
  /** Served before every waiter without it. */
  readonly priority: boolean;
}

interface OriginSlots {
  active: number;
  readonly waiting: Waiter[];
}

/**
 * A counting semaphore per remote origin: at most `limit` transfers to one origin at a time,
 * served first come, first served, except that waiters with priority (retries) go before all
 * others. Waiting costs one promise per transfer, never per chunk.
 */
export class OriginLimiter {
  private readonly origins = new Map<string, OriginSlots>();

  constructor(private readonly limit: number) {}

  /**
   * A release function when a slot for `origin` is free right now and nobody waits for one
   * (no promise, no tick), else undefined: then {@link acquire} queues.
   */
  tryAcquire(origin: string): (() => void) | undefined {
    let slots = this.origins.get(origin);
    if (slots === undefined) {
      slots = { active: 0, waiting: [] };
      this.origins.set(origin, slots);
    }
    if (slots.active >= this.limit || slots.waiting.length > 0) return undefined;
    slots.active++;
    return this.releaser(origin, slots);
  }

  /**
   * Resolves with a release function once a slot for `origin` is free. Rejects with the signal's
   * reason, leaving the queue, when `signal` aborts while waiting. With `priority` the wait is
   * behind earlier priority waiters only: a retry must not queue behind transfers that have not
   * started yet.
   */
  async acquire(origin: string, signal?: AbortSignal, onAbort?: () => Error, priority = false): Promise<() => void> {
    let slots = this.origins.get(origin);
    if (slots === undefined) {
      slots = { active: 0, waiting: [] };
      this.origins.set(origin, slots);
    }
    const owned = slots;
    if (owned.active < this.limit) {
      owned.active++;
      return this.releaser(origin, owned);
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        settled: false,
        priority,
        grant: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = (): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        const index = owned.waiting.indexOf(waiter);
        if (index >= 0) owned.waiting.splice(index, 1);
        reject(onAbort ? onAbort() : signal?.reason);
      };
      const before = priority ? owned.waiting.findIndex((w) => !w.priority) : -1;
      if (before >= 0) owned.waiting.splice(before, 0, waiter);
      else owned.waiting.push(waiter);
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
    return this.releaser(origin, owned);
  }

  private releaser(origin: string, slots: OriginSlots): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the next waiter; `active` stays the same.
      while (slots.waiting.length > 0) {
        const next = slots.waiting.shift()!;
        if (next.settled) continue;
        next.settled = true;
        next.grant();
        return;
      }
      slots.active--;
      if (slots.active === 0) this.origins.delete(origin);
    };
  }
}
