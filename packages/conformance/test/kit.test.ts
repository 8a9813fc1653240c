import { defineImporter, type AnyImporterPlugin } from '@tributary/plugin-api';
import {
  CONFORMANCE_CHECKS,
  checkCancelledSyncIntact,
  createConformanceContext,
  isConformanceFailure,
  type ConformanceRule,
} from '@tributary/conformance';
import { KIT_FIXTURES, kitNotesConduitImporter, kitNotesImporter } from './fixtures/kit-notes-importer';

// Each case breaks one rule; the same importers, well-behaved, pass every rule (well-behaved-importers.test.ts).

/**
 * Runs one rule's check against `plugin`; resolves to the failure it raised, or undefined if it passed.
 * No importer here hangs after its cancellation (ignores-cancellation goes on emitting, then ends):
 * the limit only stops one that would, and is far beyond what a busy machine adds.
 */
async function failureOf(rule: ConformanceRule, plugin: AnyImporterPlugin) {
  const ctx = createConformanceContext({ plugin, fixtures: KIT_FIXTURES, cancelSettleMs: 60_000 });
  try {
    await CONFORMANCE_CHECKS[rule](ctx);
    return undefined;
  } catch (error) {
    if (!isConformanceFailure(error)) throw error;
    return error;
  }
}

describe('the conformance kit fails broken importers for the right reason', () => {
  const cases: Array<{ breakage: string; plugin: () => AnyImporterPlugin; rule: ConformanceRule; why: RegExp }> = [
    { breakage: 'non-idempotent: a key field holds the sync time', plugin: () => kitNotesImporter('timestamp-key'), rule: 'resync-idempotent', why: /added 4 'kitnotes\.note'.*removed 4 'kitnotes\.note'[\s\S]*no timestamps/ },
    { breakage: 'unstable keys: the key is the position in the index', plugin: () => kitNotesImporter('position-key'), rule: 'unit-keys-stable', why: /files did not change upstream \(notes\/beta\.txt\) has key kitnotes\.note \{"position":1\}.*\{"position":0\}[\s\S]*not from its position/ },
    { breakage: 'undeclared key fields', plugin: () => kitNotesImporter('undeclared-key-field'), rule: 'unit-keys-declared', why: /TRIBUTARY_ERR_UNIT_KEY_INVALID[\s\S]*undeclared title[\s\S]*keyFields/ },
    { breakage: 'ignores cancellation: keeps emitting after abort', plugin: () => kitNotesImporter('ignores-cancellation'), rule: 'cancellation-honoured', why: /still made 3 calls \(put ×3\)/ },
    { breakage: 'writes outside storage: a cache file in the temporary directory', plugin: () => kitNotesImporter('writes-outside'), rule: 'writes-inside-storage', why: /wrote outside the host.s storage: kitnotes-cache\.txt in the temporary directory \(os\.tmpdir\(\)\)/ },
    { breakage: 'downloads artifacts in an on_demand sync', plugin: () => kitNotesImporter('eager-download'), rule: 'on-demand-defers-downloads', why: /on_demand sync downloaded artifact files: notes\/alpha\.txt/ },
    { breakage: 'passes no digests, so a corrupt file is stored', plugin: () => kitNotesImporter('no-digests'), rule: 'corrupt-artifact-intact', why: /accepted a corrupt copy of notes\/epsilon\.txt/ },
    { breakage: 'builds other content from the same source', plugin: () => kitNotesImporter('unstable-source'), rule: 'source-deterministic', why: /4 of 4 contents that name their source were built differently[\s\S]*\(sync \d+\)[\s\S]*pure function/ },
    { breakage: 'accepts any config', plugin: () => kitNotesImporter('permissive-config'), rule: 'invalid-config-rejected', why: /accepts any config/ },
    { breakage: 'calls the conduit once per unit', plugin: () => kitNotesConduitImporter('per-unit-calls'), rule: 'conduit-batched', why: /should have saved at least 3, but saved 0/ },
    { breakage: 'conduit-style: saves one key twice with different metadata', plugin: () => kitNotesConduitImporter('duplicate-key'), rule: 'first-sync-succeeds', why: /saved unit 'kitnotes\.note' \{"name":"alpha"\} twice with different content: saveUnits\(\) call #1, then saveUnits\(\) call #2 \(metadata \{"title":"Alpha"\}, then \{"title":"Alpha \(mirror listing\)"\}\)\. The host refused the sync \(TRIBUTARY_ERR_PLUGIN_MISBEHAVED, duplicate-key\)[\s\S]*Likely cause: the same upstream record is read twice/ },
    { breakage: 'conduit-style: gives one relative path to every unit', plugin: () => kitNotesConduitImporter('shared-relative-path'), rule: 'first-sync-succeeds', why: /gave relative path 'notes\/note\.txt' to two units: 'kitnotes\.note' \{"name":"alpha"\}, then 'kitnotes\.note' \{"name":"beta"\} \(saveUnits\(\) call #1\) \(and 2 more\)\. The host refused the sync \(TRIBUTARY_ERR_PLUGIN_MISBEHAVED, duplicate-relative-path\)[\s\S]*relativePath is built from too little/ },
    { breakage: "a mirror removes units a user added", plugin: () => kitNotesConduitImporter('mirror-removes-user-units'), rule: 'mirror-removes-keeps-user', why: /removed kitnotes\.note \{"name":"alpha"\}, which a user had added/ },
  ];

  it.each(cases)('$breakage → $rule', async ({ plugin, rule, why }) => {
    const failure = await failureOf(rule, plugin());
    expect(failure).toBeDefined();
    expect(failure!.rule).toBe(rule);
    expect(failure!.why).toMatch(why);
    expect(failure!.message).toContain(`conformance rule '${rule}' failed`);
  });

  it('an importer that ignores cancellation is flagged, while the host still fails its sync typed and intact', async () => {
    const ctx = createConformanceContext({ plugin: kitNotesImporter('ignores-cancellation'), fixtures: KIT_FIXTURES });
    await expect(checkCancelledSyncIntact(ctx)).resolves.toBeUndefined();
    expect((await failureOf('cancellation-honoured', kitNotesImporter('ignores-cancellation')))?.rule).toBe('cancellation-honoured');
  });

  it('a plugin object not made by defineImporter is refused, saying what to export', async () => {
    const good = kitNotesImporter('none');
    const { $$type: _brand, ...unbranded } = good;
    const failure = await failureOf('plugin-object-valid', unbranded as unknown as AnyImporterPlugin);
    expect(failure?.why).toMatch(/no importer brand.*defineImporter\(\)/);
  });

  it('a plugin needing another host API is refused, naming the range', async () => {
    const plugin = defineImporter({ ...kitNotesImporter('none'), hostApi: '^2.0.0' } as Parameters<typeof defineImporter>[0]);
    const failure = await failureOf('plugin-object-valid', plugin);
    expect(failure?.why).toMatch(/TRIBUTARY_ERR_PLUGIN_HOST_VERSION[\s\S]*\^2\.0\.0[\s\S]*To fix/);
  });
});
