import { defineImporter, isTributaryError, Stage, type ImporterPlugin } from '@tributary/plugin-api';
import { PluginRegistry } from '@tributary/core';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaCacheDir } from '../src/host/schema-cache';
import { notesImporter } from './fixtures/conduit-plugins';

class NoopStage extends Stage {
  async run(): Promise<void> {}
}

const base = {
  name: 'p',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [{ id: 'p.thing', keyFields: ['id'] }],
  firstStage: () => new NoopStage(),
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isTributaryError(error) ? error.code : `untyped: ${String(error)}`;
  }
  return undefined;
}

describe('plugin registration checks brand → host API → config schema → content types', () => {
  it('accepts a well-formed plugin', () => {
    const registry = new PluginRegistry();
    registry.register(defineImporter(base));
    expect(registry.get('p').name).toBe('p');
  });

  it('rejects an object not made by defineImporter (bad brand)', () => {
    expect(codeOf(() => new PluginRegistry().register({ ...base }))).toBe('TRIBUTARY_ERR_PLUGIN_BRAND');
    expect(codeOf(() => new PluginRegistry().register({ ...base, $$type: '@other/Plugin' }))).toBe('TRIBUTARY_ERR_PLUGIN_BRAND');
    expect(codeOf(() => new PluginRegistry().register(null))).toBe('TRIBUTARY_ERR_PLUGIN_BRAND');
  });

  it('rejects a plugin needing an incompatible host API range, naming both versions', () => {
    const registry = new PluginRegistry();
    try {
      registry.register(defineImporter({ ...base, hostApi: '^2.0.0' }));
      throw new Error('not rejected');
    } catch (error) {
      expect(isTributaryError(error, 'TRIBUTARY_ERR_PLUGIN_HOST_VERSION')).toBe(true);
      expect((error as Error).message).toMatch(/'p' needs host API \^2\.0\.0, but this host provides 1\.0\.0/);
    }
    expect(codeOf(() => new PluginRegistry().register(defineImporter({ ...base, hostApi: 'not a range' })))).toBe('TRIBUTARY_ERR_PLUGIN_HOST_VERSION');
  });

  it('rejects an invalid config schema, and registration config failing the schema', () => {
    expect(codeOf(() => new PluginRegistry().register(defineImporter({ ...base, configSchema: { type: 'no-such-type' } })))).toBe('TRIBUTARY_ERR_PLUGIN_CONFIG_SCHEMA');
    expect(codeOf(() => new PluginRegistry().register(notesImporter, { count: 'many' }))).toBe('TRIBUTARY_ERR_CONFIG_INVALID');
  });

  it('rejects a content type another plugin already provides, naming the owner', () => {
    const registry = new PluginRegistry();
    registry.register(defineImporter(base));
    try {
      registry.register(defineImporter({ ...base, name: 'q' }));
      throw new Error('not rejected');
    } catch (error) {
      expect(isTributaryError(error, 'TRIBUTARY_ERR_CONTENT_TYPE_CONFLICT')).toBe(true);
      expect((error as Error).message).toMatch(/'q' declares content type 'p.thing', which plugin 'p' already provides/);
    }
  });

  it('checks in order: a plugin wrong in several ways fails on the first check', () => {
    const registry = new PluginRegistry();
    registry.register(defineImporter(base));
    const bad = defineImporter({ ...base, name: 'r', hostApi: '^9.0.0', configSchema: { type: 'nope' } });
    expect(codeOf(() => registry.register(bad))).toBe('TRIBUTARY_ERR_PLUGIN_HOST_VERSION');
    const bad2 = defineImporter({ ...base, name: 'r', configSchema: { type: 'nope' } });
    expect(codeOf(() => registry.register(bad2))).toBe('TRIBUTARY_ERR_PLUGIN_CONFIG_SCHEMA');
  });

  it('defineImporter refuses a plugin with both or neither of firstStage and sync', () => {
    expect(codeOf(() => defineImporter({ ...base, firstStage: undefined } as unknown as Parameters<typeof defineImporter>[0]))).toBe('TRIBUTARY_ERR_PLUGIN_DEFINITION');
    const both = { ...base, sync: async () => undefined } as unknown as Parameters<typeof defineImporter>[0];
    expect(codeOf(() => defineImporter(both))).toBe('TRIBUTARY_ERR_PLUGIN_DEFINITION');
  });

  it('rejects malformed content types', () => {
    const malformed = (contentTypes: unknown) => defineImporter({ ...base, contentTypes } as unknown as Parameters<typeof defineImporter>[0]) as ImporterPlugin;
    expect(codeOf(() => new PluginRegistry().register(malformed([])))).toBe('TRIBUTARY_ERR_PLUGIN_DEFINITION');
    expect(codeOf(() => new PluginRegistry().register(malformed([{ id: 'Bad Id', keyFields: ['a'] }])))).toBe('TRIBUTARY_ERR_PLUGIN_DEFINITION');
    expect(codeOf(() => new PluginRegistry().register(malformed([{ id: 'p.x', keyFields: [] }])))).toBe('TRIBUTARY_ERR_PLUGIN_DEFINITION');
  });
});

describe('schemas checked at registration, compiled on first use; plugins loaded when first needed', () => {
  it('rejects schemas the meta-schema refuses at registration: metadata, publish options', () => {
    const badMetadata = defineImporter({ ...base, contentTypes: [{ id: 'p.thing', keyFields: ['id'], metadataSchema: { type: 'nope' } }] });
    expect(codeOf(() => new PluginRegistry().register(badMetadata))).toBe('TRIBUTARY_ERR_PLUGIN_DEFINITION');
    const badPublisher = defineImporter({ ...base, publisher: { publish: async () => undefined, optionsSchema: { properties: 3 } } } as unknown as Parameters<typeof defineImporter>[0]);
    expect(codeOf(() => new PluginRegistry().register(badPublisher))).toBe('TRIBUTARY_ERR_PLUGIN_CONFIG_SCHEMA');
  });

  it('a schema only compiling can refuse (a $ref to nowhere) fails on first use with the registration code', () => {
    const registry = new PluginRegistry();
    registry.register(defineImporter({ ...base, configSchema: { $ref: '#/definitions/missing' } }));
    expect(codeOf(() => registry.validateConfig('p', {}))).toBe('TRIBUTARY_ERR_PLUGIN_CONFIG_SCHEMA');
  });

  it('compiles a schema once and still fills defaults and refuses bad values', () => {
    const registry = new PluginRegistry();
    registry.register(defineImporter({ ...base, configSchema: { type: 'object', properties: { n: { type: 'integer', default: 3 } }, additionalProperties: false } }));
    expect(registry.validateConfig('p', {})).toEqual({ n: 3 });
    expect(codeOf(() => registry.validateConfig('p', { n: 'x' }))).toBe('TRIBUTARY_ERR_CONFIG_INVALID');
    expect(registry.validateConfig('p', { n: 4 })).toEqual({ n: 4 });
  });

  it('defer: loads nothing until asked about a plugin, then registers in order with every check', () => {
    const registry = new PluginRegistry();
    const load = jest.fn(() => [{ plugin: defineImporter(base) }]);
    registry.defer(load);
    expect(load).not.toHaveBeenCalled();
    expect(registry.get('p').name).toBe('p');
    expect(registry.contentType('p.thing').id).toBe('p.thing');
    expect(load).toHaveBeenCalledTimes(1);

    const conflicting = new PluginRegistry();
    conflicting.defer(() => [{ plugin: defineImporter(base) }]);
    // a plugin registered later is checked against the deferred ones, which register first
    expect(codeOf(() => conflicting.register(defineImporter({ ...base, name: 'q' })))).toBe('TRIBUTARY_ERR_CONTENT_TYPE_CONFLICT');

    const broken = new PluginRegistry();
    broken.defer(() => [{ plugin: { name: 'not-a-plugin' } }]);
    expect(codeOf(() => broken.list())).toBe('TRIBUTARY_ERR_PLUGIN_BRAND');
  });
});

describe('compiled schemas kept across processes (the CLI\'s schema cache)', () => {
  const withConfig = defineImporter({ ...base, configSchema: { type: 'object', properties: { n: { type: 'integer', default: 3 } }, additionalProperties: false } });
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'tributary-schemas-')), 'schemas');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('a validator compiled by one registry is loaded by the next, and behaves the same', () => {
    const first = new PluginRegistry({ schemaCacheDir: dir });
    first.register(withConfig);
    expect(first.validateConfig('p', {})).toEqual({ n: 3 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.js'))).toHaveLength(1);
    const second = new PluginRegistry({ schemaCacheDir: dir });
    second.register(withConfig);
    expect(second.validateConfig('p', {})).toEqual({ n: 3 });
    expect(codeOf(() => second.validateConfig('p', { n: 'x' }))).toBe('TRIBUTARY_ERR_CONFIG_INVALID');
    expect(codeOf(() => second.validateConfig('p', { other: 1 }))).toBe('TRIBUTARY_ERR_CONFIG_INVALID');
  });

  it('an unreadable or broken cached validator is compiled again; an invalid schema is refused however often', () => {
    const first = new PluginRegistry({ schemaCacheDir: dir });
    first.register(withConfig);
    first.validateConfig('p', {});
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) writeFileSync(join(dir, file), 'this is not javascript(');
    const again = new PluginRegistry({ schemaCacheDir: dir });
    again.register(withConfig);
    expect(again.validateConfig('p', {})).toEqual({ n: 3 });
    for (let i = 0; i < 2; i++) {
      expect(codeOf(() => new PluginRegistry({ schemaCacheDir: dir }).register(defineImporter({ ...base, configSchema: { type: 'no-such-type' } })))).toBe('TRIBUTARY_ERR_PLUGIN_CONFIG_SCHEMA');
    }
  });

  it('a directory others may write to is not used', () => {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const registry = new PluginRegistry({ schemaCacheDir: dir });
    registry.register(withConfig);
    expect(registry.validateConfig('p', {})).toEqual({ n: 3 });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the CLI\'s directory: TRIBUTARY_CACHE_DIR, XDG_CACHE_HOME, ~/.cache; none when off or homeless', () => {
    expect(schemaCacheDir({ TRIBUTARY_CACHE_DIR: '/c', HOME: '/h' })).toBe('/c/schemas');
    expect(schemaCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/tributary/schemas');
    expect(schemaCacheDir({ HOME: '/h' })).toBe('/h/.cache/tributary/schemas');
    expect(schemaCacheDir({ TRIBUTARY_CACHE_DIR: 'off', HOME: '/h' })).toBeUndefined();
    expect(schemaCacheDir({})).toBeUndefined();
  });
});
