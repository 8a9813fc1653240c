import { CONFORMANCE_CHECKS } from './conformance-checks.js';
import { ConformanceContext } from './conformance-context.js';
import type { ImporterConformanceOptions } from './conformance-options.js';
import { CONFORMANCE_RULES, CONFORMANCE_RULE_IDS } from './conformance-rules.js';

interface JestGlobals {
  describe(name: string, body: () => void): void;
  it: {
    (name: string, body: () => Promise<void>, timeout?: number): void;
    skip(name: string, body: () => Promise<void>): void;
  };
}

/**
 * Declares a jest `describe` suite with one test per conformance rule, run against the plugin and
 * its fixture repository. Call it at the top level of a test file:
 *
 * @example
 * ```ts
 * import { describeImporterConformance } from '@tributary/conformance';
 * import notesImporter from '../src/index.js';
 *
 * describeImporterConformance({
 *   plugin: notesImporter,
 *   fixtures: { initial: { root: `${__dirname}/fixtures/initial` }, changed: { root: `${__dirname}/fixtures/changed` } },
 * });
 * ```
 *
 * Each test's failure names the rule and says why the plugin breaks it. The same checks are plain
 * async functions (`checkResyncIdempotent(ctx)`, …) for running them outside jest.
 */
export function describeImporterConformance(options: ImporterConformanceOptions): void {
  const jest = globalThis as unknown as Partial<JestGlobals>;
  if (typeof jest.describe !== 'function' || typeof jest.it !== 'function') {
    throw new Error('describeImporterConformance() declares jest tests: call it in a jest test file, with jest globals injected (injectGlobals: true)');
  }
  const { describe, it } = jest as JestGlobals;
  const name = (options.plugin as { name?: unknown })?.name;
  describe(options.suiteName ?? `importer '${String(name)}' conformance`, () => {
    const ctx = new ConformanceContext(options);
    for (const rule of CONFORMANCE_RULE_IDS) {
      const title = `${rule}: ${CONFORMANCE_RULES[rule]}`;
      const skipReason = options.skip?.[rule] ?? (rule === 'heap-bounded' && options.heapBudget === undefined ? 'optional; opt in with heapBudget' : undefined);
      if (skipReason !== undefined) {
        it.skip(`${title} (skipped: ${skipReason})`, async () => undefined);
        continue;
      }
      it(title, () => CONFORMANCE_CHECKS[rule](ctx), options.timeoutMs ?? 60_000);
    }
  });
}
