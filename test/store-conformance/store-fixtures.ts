import { createHash } from 'node:crypto';
import type { ContentStore, UnitArtifactWrite, UnitWrite } from '@tributary/core';
import { isTributaryError, type ErrorCode } from '@tributary/plugin-api';

/** The store under test, as each behaviour sees it (a fresh, empty one per test). */
export type CurrentStore = () => ContentStore;

/** A deterministic unit id, like the host's: the suite never depends on how ids are made. */
export function unitId(typeId: string, name: string): string {
  return createHash('sha256').update(`${typeId}\u0000${name}`).digest('hex').slice(0, 40);
}

export function sha256Of(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function digestOf(algorithm: 'md5' | 'sha1' | 'sha224' | 'sha384' | 'sha512', text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}

export function unitWrite(
  typeId: string,
  name: string,
  metadata: Record<string, unknown> = {},
  artifacts: UnitArtifactWrite[] = [],
): UnitWrite {
  return { unitId: unitId(typeId, name), typeId, key: { name }, metadata, artifacts };
}

/** `count` units of one type named `${prefix}-00000`, …, metadata-only. */
export function manyUnits(typeId: string, count: number, prefix = 'u'): UnitWrite[] {
  return Array.from({ length: count }, (_, i) => unitWrite(typeId, `${prefix}-${String(i).padStart(5, '0')}`, { i }));
}

export const rowsOf = (units: readonly UnitWrite[]) => units.map(({ unitId: id, typeId }) => ({ unitId: id, typeId }));

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Names of the units (`key.name`) in a version, sorted, so assertions never depend on stream order. */
export async function namesIn(store: ContentStore, repoId: string, version: number, typeId?: string): Promise<string[]> {
  const keys = await collect(store.repoUnitKeys(repoId, version, typeId));
  return keys.map((k) => String(k.key['name'])).sort();
}

/** Creates a repository and commits one version holding `units` (upserted first); returns the repo id. */
export async function repoWithVersion1(store: ContentStore, name: string, units: readonly UnitWrite[]): Promise<string> {
  const repo = await store.createRepository({ name });
  await store.upsertUnits(units);
  const version = await store.beginVersion(repo.id);
  await store.associate(repo.id, version, rowsOf(units), 'sync');
  await store.commitVersion(repo.id, version);
  return repo.id;
}

/** Resolves to the typed error code a promise rejects with (fails the test if it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<ErrorCode | string> {
  try {
    await promise;
  } catch (error) {
    return isTributaryError(error) ? error.code : `untyped: ${String(error)}`;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
