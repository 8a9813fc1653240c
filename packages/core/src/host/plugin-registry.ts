import type { default as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import {
  ErrorCodes,
  HOST_API_VERSION,
  IMPORTER_PLUGIN_TYPE,
  TributaryError,
  type ContentTypeDefinition,
  type ImporterPlugin,
} from '@tributary/plugin-api';
import type { PluginCatalog } from '../tokens.js';
import { SchemaCache } from './schema-cache.js';

const TYPE_ID = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const KEY_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface RegisteredPlugin {
  readonly plugin: ImporterPlugin;
  readonly validateConfig: LazyValidator;
  /** Host-level default config given at registration, already validated. */
  readonly defaultConfig: Record<string, unknown>;
  /** Checks (and fills defaults into) publish options; undefined when the plugin has no publisher. */
  readonly validatePublishOptions: LazyValidator | undefined;
}

interface RegisteredType {
  readonly definition: ContentTypeDefinition;
  readonly plugin: string;
  readonly validateMetadata: LazyValidator | undefined;
}

/** A schema checked against the meta-schema at registration and compiled on its first use. */
type LazyValidator = () => ValidateFunction;

/** Plugins whose loading waits until the registry is first asked about any plugin (see {@link PluginRegistry.defer}). */
type PluginLoader = () => readonly PluginEntry[];

/** A plugin, with the host-level default config to register it with, if any. */
export interface PluginEntry {
  readonly plugin: unknown;
  readonly config?: Record<string, unknown>;
}

// ajv (and its code generation) and semver are loaded by the first registration, not by importing the host.
const loadAjv = () => (require('ajv') as { default: typeof AjvClass }).default;
const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false } as const;

function ajvVersion(): string | undefined {
  try {
    return (require('ajv/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export interface PluginRegistryOptions {
  /**
   * A directory to keep compiled validators in across processes ({@link SchemaCache}); a schema
   * found there is neither checked nor compiled again, and ajv is not loaded for it.
   */
  readonly schemaCacheDir?: string;
}
// the two functions, not semver's index: that loads every module of the package (~40 files)
const semver = () => ({
  satisfies: require('semver/functions/satisfies') as typeof import('semver/functions/satisfies'),
  validRange: require('semver/ranges/valid') as typeof import('semver/ranges/valid'),
});
const standaloneCode = (ajv: AjvClass, validate: ValidateFunction): string =>
  (require('ajv/dist/standalone') as { default: (ajv: AjvClass, validate: ValidateFunction) => string }).default(ajv, validate);

/**
 * The host's importer plugins and the content types they contribute. Registration checks, in this
 * order: brand → host API range → config schema → content types (shape, then conflicts), and each
 * failure is a typed error naming the plugin.
 *
 * A plugin's schemas are checked against JSON Schema's meta-schema when it registers, and compiled
 * when first used: compiling every schema of every plugin was most of the start-up of a command
 * that validates nothing (`repo list`). A schema the meta-schema accepts but ajv cannot compile (a
 * `$ref` to nowhere) fails on first use, with the same error code registration would have given.
 */
export class PluginRegistry implements PluginCatalog {
  private ajvInstance: AjvClass | undefined;
  private readonly cache: SchemaCache | undefined;
  private readonly plugins = new Map<string, RegisteredPlugin>();
  private readonly types = new Map<string, RegisteredType>();
  private readonly deferred: PluginLoader[] = [];

  constructor(options: PluginRegistryOptions = {}) {
    const version = options.schemaCacheDir === undefined ? undefined : ajvVersion();
    // without ajv's version a kept validator could be another ajv's code: no cache then
    if (version !== undefined) this.cache = new SchemaCache(options.schemaCacheDir!, `ajv ${version} ${JSON.stringify(AJV_OPTIONS)}`);
  }

  private get ajv(): AjvClass {
    // with a cache, compiled validators keep their source, which is what the cache writes
    return (this.ajvInstance ??= new (loadAjv())({ ...AJV_OPTIONS, ...(this.cache ? { code: { source: true } } : {}) }));
  }

  /**
   * Plugins to load and register, in order, when the registry is first asked about any plugin or
   * content type, or when another plugin registers: a command that never looks at an importer
   * does not load one. Errors (loading, or any registration check) surface from that first call.
   */
  defer(load: PluginLoader): void {
    this.deferred.push(load);
  }

  /**
   * Registers a plugin. `defaultConfig`, when given, is a host-level config every repository's
   * config is merged over; it must satisfy the plugin's schema on its own.
   */
  register(candidate: unknown, defaultConfig?: Record<string, unknown>): ImporterPlugin {
    this.settle();
    return this.add(candidate, defaultConfig);
  }

  /** Registers what {@link defer} was given, in order; each loader runs once even if it fails. */
  private settle(): void {
    while (this.deferred.length > 0) {
      const load = this.deferred.shift()!;
      for (const entry of load()) this.add(entry.plugin, entry.config);
    }
  }

  private add(candidate: unknown, defaultConfig?: Record<string, unknown>): ImporterPlugin {
    const plugin = checkBrand(candidate);
    const name = plugin.name;
    if (typeof plugin.hostApi !== 'string' || !semver().validRange(plugin.hostApi)) {
      throw new TributaryError(ErrorCodes.PLUGIN_HOST_VERSION, `plugin '${name}' declares host API range ${JSON.stringify(plugin.hostApi)}, which is not a semver range`);
    }
    if (!semver().satisfies(HOST_API_VERSION, plugin.hostApi)) {
      throw new TributaryError(
        ErrorCodes.PLUGIN_HOST_VERSION,
        `plugin '${name}' needs host API ${plugin.hostApi}, but this host provides ${HOST_API_VERSION}`,
        { details: { plugin: name, required: plugin.hostApi, provided: HOST_API_VERSION } },
      );
    }
    if (this.plugins.has(name)) {
      throw new TributaryError(ErrorCodes.CONTENT_TYPE_CONFLICT, `a plugin named '${name}' is already registered`, { details: { plugin: name } });
    }
    const validateConfig = this.lazyValidator(plugin.configSchema ?? { type: 'object' }, (why, cause) =>
      new TributaryError(ErrorCodes.PLUGIN_CONFIG_SCHEMA, `plugin '${name}' has an invalid config schema: ${why}`, { cause, details: { plugin: name } }),
    );
    const config = structuredClone(defaultConfig ?? {});
    if (defaultConfig !== undefined) {
      const validate = validateConfig();
      if (!validate(config)) throw configError(name, validate.errors, 'the registration config');
    }
    const validatePublishOptions = this.checkPublisher(plugin);
    const types = this.checkContentTypes(plugin);
    this.plugins.set(name, { plugin, validateConfig, defaultConfig: config, validatePublishOptions });
    for (const type of types) this.types.set(type.definition.id, type);
    return plugin;
  }

  get(name: string): ImporterPlugin {
    this.settle();
    const entry = this.plugins.get(name);
    if (!entry) {
      const known = [...this.plugins.keys()].sort().join(', ') || 'none';
      throw new TributaryError(ErrorCodes.PLUGIN_NOT_FOUND, `no importer named '${name}' is registered (registered: ${known})`, { details: { plugin: name } });
    }
    return entry.plugin;
  }

  has(name: string): boolean {
    this.settle();
    return this.plugins.has(name);
  }

  list(): ImporterPlugin[] {
    this.settle();
    return [...this.plugins.values()].map((p) => p.plugin);
  }

  /** Validates (and fills defaults into) a per-repository config; TRIBUTARY_ERR_CONFIG_INVALID on failure. */
  validateConfig(pluginName: string, config: unknown): Record<string, unknown> {
    this.settle();
    const entry = this.plugins.get(pluginName);
    if (!entry) this.get(pluginName);
    const merged = { ...entry!.defaultConfig, ...(isObject(config) ? structuredClone(config) : {}) };
    if (config !== undefined && config !== null && !isObject(config)) {
      throw new TributaryError(ErrorCodes.CONFIG_INVALID, `config for importer '${pluginName}' must be a JSON object, got ${typeof config}`);
    }
    const validate = entry!.validateConfig();
    if (!validate(merged)) throw configError(pluginName, validate.errors, 'the config');
    return merged;
  }

  /**
   * Validates (and fills defaults into) options for a plugin's publisher; TRIBUTARY_ERR_CONFIG_INVALID
   * on failure. A plugin without a publisher (the host's default one) takes no options.
   */
  validatePublishOptions(pluginName: string, options: unknown): Record<string, unknown> {
    this.settle();
    const entry = this.plugins.get(pluginName);
    if (!entry) this.get(pluginName);
    if (options !== undefined && options !== null && !isObject(options)) {
      throw new TributaryError(ErrorCodes.CONFIG_INVALID, `publish options for importer '${pluginName}' must be a JSON object, got ${typeof options}`);
    }
    const copy = isObject(options) ? structuredClone(options) : {};
    const lazy = entry!.validatePublishOptions;
    if (lazy === undefined) {
      if (Object.keys(copy).length > 0) {
        throw new TributaryError(ErrorCodes.CONFIG_INVALID, `importer '${pluginName}' publishes with the default publisher, which takes no options (got ${Object.keys(copy).join(', ')})`);
      }
      return copy;
    }
    const validate = lazy();
    if (!validate(copy)) throw configError(pluginName, validate.errors, 'the publish options');
    return copy;
  }

  contentType(typeId: string): ContentTypeDefinition {
    return this.typeEntry(typeId).definition;
  }

  /** Checks a unit's metadata against its type's schema; TRIBUTARY_ERR_UNIT_METADATA_INVALID on failure. */
  validateMetadata(typeId: string, metadata: unknown): void {
    const lazy = this.typeEntry(typeId).validateMetadata;
    if (lazy === undefined) return;
    const validate = lazy();
    if (!validate(metadata)) {
      throw new TributaryError(
        ErrorCodes.UNIT_METADATA_INVALID,
        `metadata of a '${typeId}' unit does not match the type's schema: ${formatAjvErrors(validate.errors)}`,
        { details: { typeId } },
      );
    }
  }

  private typeEntry(typeId: string): RegisteredType {
    this.settle();
    const entry = this.types.get(typeId);
    if (!entry) {
      throw new TributaryError(ErrorCodes.UNKNOWN_CONTENT_TYPE, `content type '${typeId}' is not declared by any registered plugin`, { details: { typeId } });
    }
    return entry;
  }

  private checkPublisher(plugin: ImporterPlugin): LazyValidator | undefined {
    const publisher = plugin.publisher;
    if (publisher === undefined) return undefined;
    if (!isObject(publisher) || typeof publisher.publish !== 'function') {
      throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `plugin '${plugin.name}' declares a publisher without a publish(ctx) function`, { details: { plugin: plugin.name } });
    }
    return this.lazyValidator(publisher.optionsSchema ?? { type: 'object' }, (why, cause) =>
      new TributaryError(ErrorCodes.PLUGIN_CONFIG_SCHEMA, `plugin '${plugin.name}' has an invalid publish options schema: ${why}`, { cause, details: { plugin: plugin.name } }),
    );
  }

  /**
   * Checks a schema against the meta-schema now (a typed error from `invalid` if it fails) and
   * returns the function that compiles it once, on first call (the same error if that fails).
   */
  private lazyValidator(schema: unknown, invalid: (why: string, cause?: unknown) => TributaryError): LazyValidator {
    const cache = this.cache;
    const key = cache?.key(schema);
    if (key === undefined || !cache!.checked(key)) {
      const ajv = this.ajv;
      let valid: boolean;
      try {
        valid = ajv.validateSchema(schema as object) as boolean;
      } catch (error) {
        throw invalid((error as Error).message, error);
      }
      if (!valid) throw invalid(`schema is invalid: ${ajv.errorsText(ajv.errors)}`);
      if (key !== undefined) cache!.markChecked(key);
    }
    let compiled: ValidateFunction | undefined;
    return () => {
      if (compiled === undefined && key !== undefined) compiled = cache!.load(key);
      if (compiled === undefined) {
        const ajv = this.ajv;
        try {
          compiled = ajv.compile(schema as object);
        } catch (error) {
          throw invalid((error as Error).message, error);
        }
        if (key !== undefined) cache!.store(key, standaloneCode(ajv, compiled));
      }
      return compiled;
    };
  }

  private checkContentTypes(plugin: ImporterPlugin): RegisteredType[] {
    const name = plugin.name;
    if (!Array.isArray(plugin.contentTypes) || plugin.contentTypes.length === 0) {
      throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `plugin '${name}' declares no content types`);
    }
    const seen = new Set<string>();
    const result: RegisteredType[] = [];
    for (const definition of plugin.contentTypes) {
      const id = definition?.id;
      if (typeof id !== 'string' || !TYPE_ID.test(id)) {
        throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `plugin '${name}' declares a content type with invalid id ${JSON.stringify(id)} (lower-case words joined by dots, e.g. 'rpm.package')`);
      }
      const fields = definition.keyFields;
      if (!Array.isArray(fields) || fields.length === 0 || fields.some((f) => typeof f !== 'string' || !KEY_FIELD.test(f)) || new Set(fields).size !== fields.length) {
        throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `content type '${id}' of plugin '${name}' must declare a non-empty list of distinct identifier key fields`);
      }
      if (seen.has(id)) {
        throw new TributaryError(ErrorCodes.CONTENT_TYPE_CONFLICT, `plugin '${name}' declares content type '${id}' twice`, { details: { plugin: name, typeId: id } });
      }
      seen.add(id);
      const owner = this.types.get(id);
      if (owner) {
        throw new TributaryError(ErrorCodes.CONTENT_TYPE_CONFLICT, `plugin '${name}' declares content type '${id}', which plugin '${owner.plugin}' already provides`, {
          details: { plugin: name, typeId: id, owner: owner.plugin },
        });
      }
      const validateMetadata = definition.metadataSchema
        ? this.lazyValidator(definition.metadataSchema, (why, cause) =>
            new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `content type '${id}' of plugin '${name}' has an invalid metadata schema: ${why}`, { cause }),
          )
        : undefined;
      result.push({ definition, plugin: name, validateMetadata });
    }
    return result;
  }
}

function checkBrand(candidate: unknown): ImporterPlugin {
  const described = isObject(candidate) && typeof candidate.name === 'string' ? `'${candidate.name}'` : describe(candidate);
  if (!isObject(candidate) || candidate.$$type !== IMPORTER_PLUGIN_TYPE) {
    throw new TributaryError(
      ErrorCodes.PLUGIN_BRAND,
      `plugin ${described} is not an importer plugin: expected an object made by defineImporter() (with $$type '${IMPORTER_PLUGIN_TYPE}')`,
    );
  }
  const plugin = candidate as unknown as ImporterPlugin;
  if (typeof plugin.name !== 'string' || plugin.name.length === 0) {
    throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, 'importer plugin has no name');
  }
  if ((typeof plugin.firstStage === 'function') === (typeof plugin.sync === 'function')) {
    throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `plugin '${plugin.name}' must define exactly one of firstStage or sync`);
  }
  return plugin;
}

function configError(plugin: string, errors: ErrorObject[] | null | undefined, what: string): TributaryError {
  return new TributaryError(ErrorCodes.CONFIG_INVALID, `${what} of importer '${plugin}' is invalid: ${formatAjvErrors(errors)}`, {
    details: { plugin, errors: (errors ?? []).map((e) => ({ path: e.instancePath, message: e.message })) },
  });
}

export function formatAjvErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'unknown schema error';
  return errors.map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`.trim()).join('; ');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `of type ${typeof value}`;
}
