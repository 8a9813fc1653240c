/**
 * The importers the CLI can load by short name. Core never imports an importer statically: these
 * are package names resolved at run time, like any `--plugin`.
 */
export const BUNDLED_IMPORTERS: Readonly<Record<string, string>> = {
  file: '@tributary/importer-file',
  rpm: '@tributary/importer-rpm-example',
};
