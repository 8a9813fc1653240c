import { defineImporter, type AnyImporterPlugin } from '@tributary/plugin-api';
import { CONFORMANCE_CHECKS, createConformanceContext, describeImporterConformance, isConformanceFailure, type ConformanceRule } from '@tributary/conformance';
import { SIMPLE_FIXTURES, largeSimpleIndex, simpleIndexImporter, type SimpleBreakage } from './fixtures/simple-index-importer';

// Broken variants of an importer of another format than the kit's own (a PEP 503 simple index, with
// pages), one per kind of breakage of issue 24 and one per kind the kit already knew. Each must fail
// the rule named, with a message naming the unit or file and the likely cause.

// the heap budget: streaming, the well-behaved importer grows the live heap by ~15 MiB on this
// upstream (10,000 units with 100 classifiers each, mostly the pages it holds); buffering by ~45 MiB
const HEAP_BUDGET = { fixture: largeSimpleIndex, units: 10_000, maxGrowthMiB: 28 } as const;
/**
 * The buffering variant syncs twice as many units (it then holds ~90 MiB): memory that earlier
 * tests in this jest worker leave for the collector, freed during its sync, must not hide it.
 */
const BUFFERING_UNITS = 20_000;
/**
 * Limits a well-behaved sync never comes near however busy the machine: a sync that stops moving
 * for this long, or is still running this long after its cancellation, is broken.
 */
const OPTIONS = { fixtures: SIMPLE_FIXTURES, cancelSettleMs: 60_000, stallTimeoutMs: 60_000, heapBudget: HEAP_BUDGET } as const;
/**
 * Short limits, for the variants that hang on purpose (awaiting what never comes, a fetch that
 * ignores its cancellation): each case waits them out in full, so they are kept short. A variant
 * that merely takes its time (ignores-cancellation goes on emitting, then ends) never runs with them.
 */
const HANG_LIMITS = { cancelSettleMs: 3_000, stallTimeoutMs: 3_000 } as const;
/** The variants that hang on purpose. */
const HANGING = new Set<SimpleBreakage>(['awaits-unput', 'index-ignores-cancel']);

async function failureOf(rule: ConformanceRule, plugin: AnyImporterPlugin, limits: Partial<typeof HANG_LIMITS & { heapUnits: number }> = {}) {
  const { heapUnits, ...rest } = limits;
  const ctx = createConformanceContext({ plugin, ...OPTIONS, ...rest, ...(heapUnits ? { heapBudget: { ...HEAP_BUDGET, units: heapUnits } } : {}) });
  try {
    await CONFORMANCE_CHECKS[rule](ctx);
    return undefined;
  } catch (error) {
    if (!isConformanceFailure(error)) throw error;
    return error;
  }
}

const cases: Array<{ variant: SimpleBreakage; rule: ConformanceRule; why: RegExp }> = [
  // the kit's classic kinds, in this format
  { variant: 'timestamp-key', rule: 'resync-idempotent', why: /added 5 'simple\.file'[\s\S]*no timestamps/ },
  { variant: 'position-key', rule: 'unit-keys-stable', why: /has key simple\.file \{"position":\d\} in the initial state but[\s\S]*not from its position/ },
  { variant: 'undeclared-key-field', rule: 'unit-keys-declared', why: /TRIBUTARY_ERR_UNIT_KEY_INVALID[\s\S]*keyFields/ },
  { variant: 'ignores-cancellation', rule: 'cancellation-honoured', why: /still made \d+ calls \(put ×\d+\)/ },
  { variant: 'writes-tmp', rule: 'writes-inside-storage', why: /simple-index-cache\.txt in the temporary directory/ },
  { variant: 'eager-download', rule: 'on-demand-defers-downloads', why: /on_demand sync downloaded artifact files: packages\/aardvark\/aardvark-1\.0\.tar\.gz/ },
  { variant: 'no-digests', rule: 'corrupt-artifact-intact', why: /accepted a corrupt copy of packages\/(beta\/beta-2\.0|gamma\/gamma-0\.2)\.tar\.gz/ },
  { variant: 'permissive-config', rule: 'invalid-config-rejected', why: /accepts any config/ },
  { variant: 'unstable-source', rule: 'source-deterministic', why: /contents that name their source were built differently[\s\S]*pure function/ },
  // issue 24: silent data loss
  { variant: 'duplicate-key', rule: 'first-sync-succeeds', why: /emitted unit 'simple\.file' \{"project":"aardvark","filename":"aardvark-1\.0\.tar\.gz"\} twice in one sync with different metadata[\s\S]*Likely cause: the same upstream record is read twice/ },
  { variant: 'shared-relative-path', rule: 'first-sync-succeeds', why: /\{"project":"beta","filename":"beta-1\.1\.tar\.gz"\}\) with artifact 'packages\/beta', the relative path content #3[\s\S]*relativePath is built from too little/ },
  { variant: 'detached-put', rule: 'first-sync-succeeds', why: /put\(\) (content 'simple\.file' \{"project":"gamma"|\d content\(s\) after its run\(\) had returned \('simple\.file' \{"project":"gamma")[\s\S]*(detached promises|promise that run\(\) does not await)/ },
  { variant: 'awaits-unput', rule: 'first-sync-succeeds', why: /TRIBUTARY_ERR_TIMEOUT[\s\S]*no progress for 3 s: the first stage SimpleIndexStage awaits resolution\(\) of 1 content\(s\) it never put\(\): 'simple\.file' \{"project":"parent","filename":"parent"\}/ },
  { variant: 'swallows-page-errors', rule: 'index-error-intact', why: /success although upstream answered HTTP 500 for the index\/metadata file simple\/gamma\/index\.html/ },
  { variant: 'plain-error-pages', rule: 'index-error-intact', why: /HTTP 500 for simple\/gamma\/index\.html, the failure does not carry the upstream's TRIBUTARY_ERR_HTTP_STATUS[\s\S]*could not read/ },
  { variant: 'retries-then-skips', rule: 'index-truncated-intact', why: /success although the index\/metadata file simple\/gamma\/index\.html arrived cut short/ },
  { variant: 'global-fetch', rule: 'requests-through-host', why: /did not go through the host's fetcher: GET \/simple\/index\.html \(user-agent "node"\)/ },
  { variant: 'node-http', rule: 'requests-through-host', why: /did not go through the host's fetcher: GET \/simple\/index\.html/ },
  { variant: 'index-ignores-cancel', rule: 'index-cancellation-honoured', why: /still running 3000 ms after it was cancelled while it fetched simple\/index\.html/ },
  { variant: 'fingerprint-root-only', rule: 'early-finish-sees-changes', why: /finished early \('the root index is unchanged'\) although upstream changed \(simple\/abacus\/index\.html[\s\S]*cover every index page/ },
  { variant: 'fingerprint-first-page', rule: 'early-finish-sees-changes', why: /finished early \('the first project page is unchanged'\) although upstream changed[\s\S]*cover every index page/ },
  { variant: 'working-pileup', rule: 'working-area-bounded', why: /working area grew from \d+ files[\s\S]*\.html/ },
  { variant: 'writes-beside-working', rule: 'working-area-bounded', why: /beside the repository's working directory: working\/simple-cache/ },
  { variant: 'mutates-key', rule: 'first-sync-succeeds', why: /read[- ]only[\s\S]*freezes a content's key and metadata/ },
  { variant: 'mutates-metadata', rule: 'first-sync-succeeds', why: /(read[- ]only|delete)[\s\S]*freezes a content's key and metadata/ },
  { variant: 'buffers-everything', rule: 'heap-bounded', why: /the live heap grew by \d+\.\d MiB \(from [\d.]+ to [\d.]+ MiB[^)]*\) while the importer synced 20000 units \(on_demand\), over the budget of 28 MiB[\s\S]*Likely cause: content buffered whole in memory before it is emitted/ },
  { variant: 'schema-invalid', rule: 'first-sync-succeeds', why: /TRIBUTARY_ERR_UNIT_METADATA_INVALID: metadata of 'simple\.file' unit \{"project":"\w+","filename":"[\w.-]+"\}[\s\S]*metadataSchema/ },
];

describe('broken importers the kit has never seen fail the right rule', () => {
  const started = Date.now();
  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`${cases.length} broken variants checked in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it.each(cases)('$variant → $rule', async ({ variant, rule, why }) => {
    const failure = await failureOf(rule, simpleIndexImporter(variant), HANGING.has(variant) ? HANG_LIMITS : variant === 'buffers-everything' ? { heapUnits: BUFFERING_UNITS } : {});
    expect(failure).toBeDefined();
    expect(failure!.rule).toBe(rule);
    if (why.source !== '^$') expect(failure!.why).toMatch(why);
    expect(failure!.message).toContain(`conformance rule '${rule}' failed`);
  });

  it('an importer whose first sync fails says so once: the other rules point at first-sync-succeeds', async () => {
    const failure = await failureOf('unit-keys-stable', simpleIndexImporter('duplicate-key'));
    expect(failure?.why).toMatch(/^not checked: the importer's first sync fails \(TRIBUTARY_ERR_PLUGIN_MISBEHAVED\); rule 'first-sync-succeeds' says why/);
  });

  it('a hung importer is stopped by the watchdog, naming the wait', async () => {
    // it awaits what never comes: were the watchdog not to stop it, this would hang until jest's timeout
    const failure = await failureOf('first-sync-succeeds', simpleIndexImporter('awaits-unput'), HANG_LIMITS);
    expect(failure?.why).toMatch(/awaits resolution\(\) of 1 content\(s\) it never put\(\)/);
  });
});

describe('what the host now protects, and faultPath on a page', () => {
  it('a download given no signal still stops when the sync is cancelled (the fetcher follows the sync)', async () => {
    expect(await failureOf('index-cancellation-honoured', simpleIndexImporter('fetcher-no-signal'))).toBeUndefined();
  });

  it('a hung conduit-style importer is stopped by the watchdog too, with a typed error', async () => {
    const hung = defineImporter({
      name: 'hung',
      version: '1.0.0',
      hostApi: '^1.0.0',
      contentTypes: [{ id: 'hung.thing', keyFields: ['name'] }],
      configSchema: { type: 'object', additionalProperties: false },
      sync: () => new Promise<void>(() => undefined),
    });
    // it never returns: were the watchdog not to stop it, this would hang until jest's timeout
    const failure = await failureOf('first-sync-succeeds', hung, HANG_LIMITS);
    expect(failure?.why).toMatch(/TRIBUTARY_ERR_SYNC_FAILED[\s\S]*TRIBUTARY_ERR_TIMEOUT: the sync of 'survey' made no progress for 3 s: the importer's sync\(\) saved nothing/);
  });

  it('faultPath naming an index page targets the index rules and leaves the artifact rules to a correct importer', async () => {
    const ctx = () => createConformanceContext({ plugin: simpleIndexImporter('none'), ...OPTIONS, faultPath: 'simple/beta/index.html' });
    for (const rule of ['corrupt-artifact-intact', 'upstream-error-intact', 'index-error-intact'] as const) await CONFORMANCE_CHECKS[rule](ctx());
    const swallowing = createConformanceContext({ plugin: simpleIndexImporter('swallows-page-errors'), ...OPTIONS, faultPath: 'simple/beta/index.html' });
    await expect(CONFORMANCE_CHECKS['index-error-intact'](swallowing)).rejects.toMatchObject({ rule: 'index-error-intact', why: expect.stringMatching(/HTTP 500 for the index\/metadata file simple\/beta\/index\.html/) });
  });
});

describeImporterConformance({ plugin: simpleIndexImporter('none'), fixtures: SIMPLE_FIXTURES, heapBudget: HEAP_BUDGET, suiteName: 'the well-behaved simple-index importer passes every rule' });
