import path from 'node:path';
import { existsSync } from 'node:fs';
import { ErrorCodes, IMPORTER_PLUGIN_TYPE, TributaryError, type ImporterPlugin } from '@tributary/plugin-api';

/**
 * Loads an importer plugin from a package name or a file path. The module's default export, a
 * named `plugin` export, or the module itself must be a plugin made by defineImporter(); the
 * host's registry then checks it like any other.
 */
export function loadPluginModule(specifier: string, cwd = process.cwd()): ImporterPlugin {
  const looksLikePath = specifier.startsWith('.') || specifier.startsWith('/') || existsSync(path.resolve(cwd, specifier));
  const request = looksLikePath ? path.resolve(cwd, specifier) : specifier;
  let loaded: unknown;
  try {
    loaded = looksLikePath ? require(request) : requirePackage(request, cwd);
  } catch (error) {
    throw new TributaryError(ErrorCodes.PLUGIN_LOAD, `could not load plugin '${specifier}': ${(error as Error).message}`, { cause: error, details: { plugin: specifier } });
  }
  const candidates = [loaded, (loaded as { default?: unknown })?.default, (loaded as { plugin?: unknown })?.plugin];
  const plugin = candidates.find((c) => typeof c === 'object' && c !== null && (c as { $$type?: unknown }).$$type === IMPORTER_PLUGIN_TYPE);
  // Hand anything else to the registry, whose brand check explains what was expected.
  return (plugin ?? (loaded as { default?: unknown })?.default ?? loaded) as ImporterPlugin;
}

/** A package from the host's own dependencies first, else from the user's project directory. */
function requirePackage(name: string, cwd: string): unknown {
  try {
    return require(name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    return require(require.resolve(name, { paths: [cwd] }));
  }
}
