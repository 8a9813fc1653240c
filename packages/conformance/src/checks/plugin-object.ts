import { PluginRegistry } from '@tributary/core';
import { ErrorCodes, HOST_API_VERSION, IMPORTER_PLUGIN_TYPE, isTributaryError } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { describeError } from '../error-words.js';
import { deriveInvalidConfig } from '../invalid-config.js';

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** What each registration error code means for the author, and what to do. */
const REGISTRATION_ADVICE: Record<string, string> = {
  [ErrorCodes.PLUGIN_BRAND]: 'export the object defineImporter() returns, not a copy or a class instance',
  [ErrorCodes.PLUGIN_HOST_VERSION]: `declare hostApi as a semver range that includes this host's API version ${HOST_API_VERSION} (e.g. '^1.0.0')`,
  [ErrorCodes.PLUGIN_DEFINITION]: 'give the plugin a name, exactly one of firstStage or sync, and content types with ids like "notes.note" and a non-empty keyFields list',
  [ErrorCodes.PLUGIN_CONFIG_SCHEMA]: 'make configSchema a JSON schema ajv can compile',
  [ErrorCodes.CONTENT_TYPE_CONFLICT]: 'declare each content type once',
  [ErrorCodes.CONFIG_INVALID]: 'the config given to the kit does not satisfy the plugin’s own configSchema',
};

/** Rule `plugin-object-valid`: the host accepts the plugin object, and its metadata is well-formed. */
export async function checkPluginObject(ctx: ConformanceContext): Promise<void> {
  const rule = 'plugin-object-valid';
  const plugin = ctx.plugin as unknown as Record<string, unknown>;
  if (typeof plugin !== 'object' || plugin === null) conformanceFailure(rule, `the plugin is ${plugin === null ? 'null' : typeof plugin}; pass the object defineImporter() returns`);
  if (plugin['$$type'] !== IMPORTER_PLUGIN_TYPE) {
    conformanceFailure(rule, `the plugin has no importer brand ($$type is ${JSON.stringify(plugin['$$type'])}, expected '${IMPORTER_PLUGIN_TYPE}'): export the object defineImporter() returns`);
  }
  if (typeof plugin['name'] !== 'string' || !PLUGIN_NAME.test(plugin['name'])) {
    conformanceFailure(rule, `the plugin's name ${JSON.stringify(plugin['name'])} is not a plain word (letters, digits, '.', '_', '-'): users type it after --importer`);
  }
  if (typeof plugin['version'] !== 'string' || !SEMVER.test(plugin['version'])) {
    conformanceFailure(rule, `the plugin's version ${JSON.stringify(plugin['version'])} is not a semver version like '1.0.0'`);
  }
  if (typeof plugin['apiVersion'] !== 'string' || !SEMVER.test(plugin['apiVersion'])) {
    conformanceFailure(rule, `the plugin's apiVersion ${JSON.stringify(plugin['apiVersion'])} is not a semver version: it should be set by defineImporter()`);
  }
  const registry = new PluginRegistry();
  try {
    registry.register(ctx.plugin);
  } catch (error) {
    const advice = isTributaryError(error) ? REGISTRATION_ADVICE[error.code] : undefined;
    conformanceFailure(rule, `the host refuses to register the plugin: ${describeError(error)}${advice ? `.\nTo fix: ${advice}.` : ''}`, error);
  }
  try {
    registry.validateConfig(ctx.plugin.name, ctx.options.config ?? {});
  } catch (error) {
    conformanceFailure(rule, `the config the conformance run uses (${JSON.stringify(ctx.options.config ?? {})}) is refused by the plugin's own configSchema: ${describeError(error)}`, error);
  }
}

/** Rule `invalid-config-rejected`: a bad config fails with CONFIG_INVALID, before any request upstream. */
export async function checkInvalidConfigRejected(ctx: ConformanceContext): Promise<void> {
  const rule = 'invalid-config-rejected';
  const example = ctx.options.invalidConfig
    ? { config: ctx.options.invalidConfig, problem: 'the invalidConfig given to the kit' }
    : deriveInvalidConfig(ctx.plugin.configSchema, ctx.options.config);
  if (!example) {
    conformanceFailure(
      rule,
      'the plugin accepts any config, so a typo in a setting would pass silently: declare a configSchema with `additionalProperties: false` ' +
        '(and types for each setting), or pass `invalidConfig` to the kit with a config the plugin refuses',
    );
  }
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    let outcome: unknown;
    try {
      outcome = await ctx.sync(testHost, 'invalid-config', upstream, { config: example.config });
    } catch (error) {
      if (!isTributaryError(error, ErrorCodes.CONFIG_INVALID)) {
        conformanceFailure(rule, `a sync with an invalid config (${example.problem}: ${JSON.stringify(example.config)}) failed, but not with TRIBUTARY_ERR_CONFIG_INVALID: ${describeError(error)}. Describe the config in configSchema so the host refuses it before the sync starts`, error);
      }
    }
    if (outcome !== undefined) {
      conformanceFailure(rule, `a sync with an invalid config (${example.problem}: ${JSON.stringify(example.config)}) succeeded: the plugin's configSchema does not refuse it`);
    }
    const requests = upstream.requestedPaths();
    if (requests.length > 0) {
      conformanceFailure(rule, `the invalid config was refused only after ${requests.length} request(s) upstream (${requests.slice(0, 3).join(', ')}): config must be refused before any network call`);
    }
    const history = await testHost.host.history('invalid-config');
    const repository = await testHost.host.getRepository('invalid-config');
    if (history.length > 0 || repository.latestVersion !== 0) {
      conformanceFailure(rule, `the refused sync left traces: ${history.length} sync record(s), latest version ${repository.latestVersion}`);
    }
  });
}
