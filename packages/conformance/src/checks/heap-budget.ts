import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { describeError } from '../error-words.js';
import { loadFixtureState } from '../fixture-states.js';
import { FixtureUpstream } from '../fixture-upstream.js';
import { instrumentPlugin } from '../instrumented-plugin.js';
import { totalOf } from '../unit-snapshot.js';

const DEFAULT_UNITS = 10_000;
/** How often the live heap is sampled during the sync (each sample is a full GC). */
const SAMPLE_EVERY_MS = 150;
const MiB = 1024 * 1024;
/** Units per store round trip of the rule's host: each default stage holds at most one batch. */
const HOST_BATCH_SIZE = 100;

/**
 * Rule `heap-bounded` (optional: only with `heapBudget`): one on_demand sync of a large generated
 * upstream into an empty repository, during which the kit samples the live heap (a full GC, then
 * `heapUsed`) at the importer's 1st, 2nd, 4th, 8th… emission (put, saveUnits, …) and every 150 ms
 * or so, on a host whose store batches are small (100 units). The growth is the largest rise of a
 * sample over the lowest before it, starting from the live heap before the sync, once settled.
 * The emission samples make the rule deterministic: an importer that builds every unit before
 * emitting any holds them all at its first emission, however busy the machine (a timer alone can
 * miss that moment).
 * Garbage does not count, so the measure does not depend on when V8 chooses to collect: a streaming
 * importer holds a few pages and a queue's worth of content, one that buffers holds every unit.
 */
export async function checkHeapBounded(ctx: ConformanceContext): Promise<void> {
  const rule = 'heap-bounded';
  const budget = ctx.options.heapBudget;
  if (!budget) {
    conformanceFailure(rule, 'not checked: no heapBudget given. Opt in with heapBudget: { fixture: (units) => ({ files }), maxGrowthMiB }');
  }
  const units = budget.units ?? DEFAULT_UNITS;
  const state = await loadFixtureState('large', await budget.fixture(units));
  const feedPath = (await ctx.fixtures()).feedPath ?? '';
  const gc = exposedGc();
  await ctx.withScope(async (scope) => {
    // small store batches: what the host's own stages hold in flight stays far below the budget
    let onEmission: (() => void) | undefined;
    let emissions = 0;
    const { plugin } = instrumentPlugin(ctx.plugin, {
      onEmission: () => {
        emissions++;
        if ((emissions & (emissions - 1)) === 0) onEmission?.();
      },
    });
    const testHost = await scope.host({ batchSize: HOST_BATCH_SIZE, plugin });
    const upstream = await FixtureUpstream.start(state, feedPath);
    try {
      await testHost.host.createRepository({ name: 'large' });
      // What earlier work left for the collector (hosts and sockets still closing) is let go
      // first: freed during the sync, it would hide as much of a buffering importer's growth
      const baseline = await settledHeap(gc);
      // growth is the largest rise over the lowest sample before it: what earlier work still held
      // at the baseline and let go during the sync would otherwise hide as much
      let low = baseline;
      let from = baseline;
      let peak = baseline;
      let peakAt = 0;
      const started = Date.now();
      // each sample is a full GC: wait at least 3 times as long as the last one took, so sampling
      // costs at most a quarter of the sync's time however big the heap is
      let timer: NodeJS.Timeout | undefined;
      let sampling = true;
      const measure = (): number => {
        const t = Date.now();
        const now = liveHeap(gc);
        if (now < low) low = now;
        if (now - low > peak - from) {
          from = low;
          peak = now;
          peakAt = t - started;
        }
        return Date.now() - t;
      };
      const sample = (): void => {
        const took = measure();
        if (sampling) timer = setTimeout(sample, Math.max(SAMPLE_EVERY_MS, 3 * took));
      };
      onEmission = () => {
        if (sampling) measure();
      };
      timer = setTimeout(sample, SAMPLE_EVERY_MS);
      let outcome;
      try {
        outcome = await ctx.sync(testHost, 'large', upstream, { policy: 'on_demand', stallTimeoutMs: 30_000 });
      } catch (error) {
        if (await ctx.firstSyncFails()) conformanceFailure(rule, "not checked: the importer's first sync fails; rule 'first-sync-succeeds' says why. Fix that first", error);
        conformanceFailure(rule, `the on_demand sync of the large generated upstream (${units} units asked of heapBudget.fixture) failed, so the rule could not be checked: ${describeError(error)}`, error);
      } finally {
        sampling = false;
        clearTimeout(timer);
      }
      const took = Date.now() - started;
      const growth = peak - from;
      const added = totalOf(outcome.report.added);
      if (added < units / 2) {
        conformanceFailure(rule, `the sync of the large generated upstream added ${added} units, but heapBudget.fixture was asked for ${units}: the heap of so few units says nothing. Check that the generator lists about as many units as it is asked for`);
      }
      if (growth > budget.maxGrowthMiB * MiB) {
        conformanceFailure(
          rule,
          `the live heap grew by ${mib(growth)} MiB (from ${mib(from)} to ${mib(peak)} MiB, ${peakAt} ms into a ${took} ms sync) while the importer synced ${added} units ` +
            `(on_demand), over the budget of ${budget.maxGrowthMiB} MiB: about ${Math.round(growth / Math.max(added, 1))} bytes held per unit.\n` +
            'Likely cause: content buffered whole in memory before it is emitted (every DeclarativeContent or unit built into an array first, then put()). ' +
            'put() each content as soon as it is built (put() waits while the pipeline is full, which keeps memory flat), or, conduit-style, save units in batches of conduit.batchSize' +
            (gc ? '' : '.\n(Measured without a forced GC, so garbage counts too: run node with --expose-gc for a sharper measure)'),
        );
      }
    } finally {
      await upstream.close();
    }
  });
}

type Gc = () => void;

/** A full GC: `global.gc` when node runs with --expose-gc, else one from a fresh context after setting the flag. */
function exposedGc(): Gc | undefined {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as Gc;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

/** The live heap once two samples a little apart agree within 1 MiB (at most about a second). */
async function settledHeap(gc: Gc | undefined): Promise<number> {
  let last = liveHeap(gc);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = liveHeap(gc);
    if (Math.abs(now - last) < MiB) return Math.min(now, last);
    last = now;
  }
  return last;
}

function liveHeap(gc: Gc | undefined): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}
