import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { defineImporter, ErrorCodes, isTributaryError, rootTributaryError, type ImportConduit, type UnitInput } from '@tributary/plugin-api';
import { startTempHost, unitTitles, type TempHost } from './fixtures/temp-host';

const URL = 'file:///dev/null';
const TYPE = 'dup.note';

/** What the importer does in a sync, given its conduit: each test scripts its own. */
type Script = (conduit: ImportConduit) => Promise<void>;
const scripts = new Map<string, Script>();

/** A conduit-style importer whose sync runs the script its config names. */
const scripted = defineImporter<{ script: string }>({
  name: 'scripted',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [{ id: TYPE, keyFields: ['title'] }],
  configSchema: { type: 'object', required: ['script'], properties: { script: { type: 'string' } }, additionalProperties: false },
  async sync(conduit, config) {
    await scripts.get(config.script)!(conduit);
  },
});

const note = (title: string, extra: Partial<UnitInput> = {}): UnitInput => ({ typeId: TYPE, key: { title }, metadata: { body: `body of ${title}` }, ...extra });
const notes = (from: number, to: number): UnitInput[] => Array.from({ length: to - from }, (_, i) => note(`n${from + i}`, { artifacts: [{ relativePath: `notes/n${from + i}.txt` }] }));

describe("the host checks what a conduit-style importer saves for duplicates, as it does a first stage's output", () => {
  let t: TempHost;
  beforeEach(async () => {
    t = await startTempHost({ plugins: [scripted], batchSize: 10 });
    await t.host.createRepository({ name: 'r' });
    scripts.set('good', (conduit) => conduit.saveUnits(notes(0, 25)).then(() => undefined));
    await t.host.sync('r', { importer: 'scripted', url: URL, config: { script: 'good' } });
  });
  afterEach(async () => t.close());

  /** Syncs `script`; expects it to fail and leave version 1 as it was; returns the typed error behind the failure. */
  async function failingSync(script: Script) {
    scripts.set('bad', script);
    const failure = await t.host.sync('r', { config: { script: 'bad' } }).catch((e: unknown) => e);
    expect(isTributaryError(failure, ErrorCodes.SYNC_FAILED)).toBe(true);
    expect((await t.host.getRepository('r')).latestVersion).toBe(1);
    expect(await unitTitles(t.host, 'r')).toEqual(notes(0, 25).map((u) => String(u.key.title)).sort());
    const [record] = await t.host.history('r');
    expect(record?.status).toBe('failed');
    return rootTributaryError((failure as Error).cause)!;
  }

  it('the same key saved twice with different metadata fails the sync, naming the key and both saves; nothing is committed', async () => {
    const cause = await failingSync(async (conduit) => {
      await conduit.saveUnits([...notes(0, 25), note('n30')]);
      await conduit.addOrUpdateUnits([note('n31'), note('n3', { metadata: { body: 'another body' }, artifacts: [{ relativePath: 'notes/n3.txt' }] })]);
    });
    expect(cause).toMatchObject({ code: ErrorCodes.PLUGIN_MISBEHAVED, details: { rule: 'duplicate-key', stage: 'sync', typeId: TYPE, key: { title: 'n3' }, earlierOrdinal: 4, ordinal: 28 } });
    // the pipeline's words ("stage X emitted unit … twice in one sync with different metadata or files (content #1 and #3)")
    expect(cause.message).toMatch(/^the importer's sync\(\) saved unit 'dup\.note' \{"title":"n3"\} twice in one sync with different metadata or files \(unit #4 and #28 \(numbered in the order handed to saveUnits\(\) and addOrUpdateUnits\(\)\)\): only one of them would be stored/);
  });

  it('two keys saved with one relative path fail the sync, naming both', async () => {
    const cause = await failingSync((conduit) => conduit.saveUnits([note('a', { artifacts: [{ relativePath: 'notes/shared.txt' }] }), note('b', { artifacts: [{ relativePath: 'notes/shared.txt' }] })]).then(() => undefined));
    expect(cause).toMatchObject({ code: ErrorCodes.PLUGIN_MISBEHAVED, details: { rule: 'duplicate-relative-path', relativePath: 'notes/shared.txt', key: { title: 'b' }, ordinal: 2, earlierOrdinal: 1 } });
    expect(cause.message).toMatch(/saved unit #2 \('dup\.note' \{"title":"b"\}\) with artifact 'notes\/shared\.txt', the relative path unit #1, a different unit, already uses \(numbered in the order handed to saveUnits\(\) and addOrUpdateUnits\(\)\): an export would keep only one/);
  });

  it('an importer that catches the refusal and goes on still fails, with the refusal as the cause', async () => {
    const cause = await failingSync(async (conduit) => {
      await conduit.saveUnits([note('x')]);
      await conduit.saveUnits([note('x', { metadata: { body: 'changed' } })]).catch(() => undefined);
      await conduit.saveUnits(notes(0, 25)); // refused too: the sync is over
    });
    expect(cause).toMatchObject({ code: ErrorCodes.PLUGIN_MISBEHAVED, details: { rule: 'duplicate-key' } });
  });

  it('the same key saved again with the same content, in another batch, is fine (a file then its sha256; metadata as text)', async () => {
    const body = 'the bytes of n0\n';
    const sha256 = createHash('sha256').update(body).digest('hex');
    scripts.set('twice', async (conduit) => {
      const file = await conduit.requestUnitFilename(TYPE, 'n0.txt');
      await writeFile(file, body);
      await conduit.saveUnits([note('n0', { artifacts: [{ relativePath: 'notes/n0.txt', file }] }), ...notes(1, 25)]);
      // listed again: the stored bytes by their digest (upper-case), then the same metadata as JSON text and the file's remote source
      await conduit.saveUnits([note('n0', { artifacts: [{ relativePath: 'notes/n0.txt', sha256: sha256.toUpperCase() }] }), ...notes(1, 25)]);
      await conduit.saveUnits([{ typeId: TYPE, key: { title: 'n0' }, metadataJson: '{"body":"body of n0"}', artifacts: [{ relativePath: 'notes/n0.txt', remote: { urls: [`${URL}#n0`], digests: { sha256 } } }] }]);
    });
    const outcome = await t.host.sync('r', { config: { script: 'twice' } });
    expect(outcome.version).toBe(2);
    expect((await unitTitles(t.host, 'r')).length).toBe(25);
  });

  it('a re-sync and a mirror of the same units are unaffected: each sync starts afresh', async () => {
    scripts.set('mirror', async (conduit) => {
      await conduit.saveUnits(notes(0, 20));
      await conduit.unassociateUnits(TYPE, notes(20, 25).map((u) => u.key));
    });
    expect((await t.host.sync('r', { config: { script: 'good' }, force: true })).version).toBe(1);
    expect((await t.host.sync('r', { config: { script: 'mirror' }, mirror: true })).version).toBe(2);
    expect((await unitTitles(t.host, 'r')).length).toBe(20);
  });
});
