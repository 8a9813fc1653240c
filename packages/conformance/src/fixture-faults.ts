import { compilePathGlob } from './path-glob.js';

/**
 * A transport fault the fixture server injects into responses for matching paths. Options combine:
 * `delayMs` waits first, then `stall`, `status` or the (possibly replaced) body is served, cut short
 * by `truncateTo`, `resetAfterBytes` or `stallAfterBytes`.
 */
export interface FaultSpec {
  /** Answer with this status (and a short text body) instead of the file. */
  readonly status?: number;
  /** How many matching requests get the fault; afterwards the path is served normally. Default: all. */
  readonly times?: number;
  /** Send the headers (full Content-Length) and this many body bytes, then reset the connection (TCP RST). */
  readonly resetAfterBytes?: number;
  /** Send the headers (full Content-Length) and this many body bytes, then close the connection cleanly. */
  readonly truncateTo?: number;
  /** Send the headers (full Content-Length) and this many body bytes, then send nothing more, ever. */
  readonly stallAfterBytes?: number;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Never answer: not even the status line. The connection stays open until the client gives up. */
  readonly stall?: boolean;
  /** Serve these bytes instead of the file (with their own Content-Length), e.g. to corrupt a digest. */
  readonly body?: Buffer | string;
}

interface FaultEntry {
  readonly matches: (path: string) => boolean;
  readonly spec: FaultSpec;
  remaining: number;
}

/** The faults registered on a fixture server, consumed request by request. */
export class FaultPlan {
  private entries: FaultEntry[] = [];

  add(target: string, spec: FaultSpec): void {
    if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) {
      throw new RangeError(`fault times must be a positive integer, got ${spec.times}`);
    }
    for (const field of ['resetAfterBytes', 'truncateTo', 'stallAfterBytes', 'delayMs'] as const) {
      const value = spec[field];
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new RangeError(`fault ${field} must be a non-negative integer, got ${value}`);
      }
    }
    this.entries.push({ matches: compilePathGlob(target), spec, remaining: spec.times ?? Infinity });
  }

  /** The first registered fault that matches `path` and has uses left; uses one of them. */
  take(path: string): FaultSpec | undefined {
    const entry = this.entries.find((e) => e.remaining > 0 && e.matches(path));
    if (!entry) return undefined;
    entry.remaining--;
    return entry.spec;
  }

  clear(): void {
    this.entries = [];
  }
}
