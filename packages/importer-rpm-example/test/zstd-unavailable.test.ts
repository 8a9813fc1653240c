/**
 * zstd-napi is an optional dependency: where its native build is missing, publishing with
 * `compression: 'zstd'` is a typed error saying why, before anything is generated; gz still works.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHost, type Host } from '@tributary/core';
import { ErrorCodes } from '@tributary/plugin-api';
import { rpmImporter } from '../src/index.js';

// what a failed or skipped native build looks like to require()
jest.mock('zstd-napi/binding', () => {
  throw new Error("Cannot find module './build/Release/binding.node'");
});

describe('zstd without its optional encoder', () => {
  let work: string;
  let host: Host;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-zstd-missing-'));
    host = await createHost({ storageRoot: path.join(work, 'storage'), store: { sqlite: path.join(work, 'catalog.db') }, plugins: [rpmImporter] });
    await host.createRepository({ name: 'empty', importer: 'rpm' });
  });

  afterAll(async () => {
    await host?.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  test('is TRIBUTARY_ERR_COMPRESSION_UNSUPPORTED naming zstd-napi and why it did not load', async () => {
    const error = await host.publish('empty', { options: { repodata: 'generate', compression: 'zstd' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: ErrorCodes.COMPRESSION_UNSUPPORTED, details: { compression: 'zstd', dependency: 'zstd-napi' } });
    expect((error as Error).message).toMatch(/zstd-napi could not be loaded \(Cannot find module '\.\/build\/Release\/binding\.node'\).*compression 'gz'/);
    // gz generation is not affected
    const gz = await host.publish('empty', { options: { repodata: 'generate' } });
    expect(gz.summary?.info).toMatchObject({ repodata: 'generated', compression: 'gz', packages: 0 });
  });

  test("an unknown compression is refused by the options schema", async () => {
    await expect(host.publish('empty', { options: { compression: 'xz' } })).rejects.toMatchObject({ code: ErrorCodes.CONFIG_INVALID });
  });
});
