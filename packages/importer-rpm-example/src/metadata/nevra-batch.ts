import type { Nevra } from './primary-package.js';

/** Values per NEVRA in a packed batch ({@link packNevras}). */
const PACKED_FIELDS = 5;

/**
 * A batch of NEVRAs as one flat list of strings, as the parsing thread posts it (cheaper to clone
 * than objects; see packEntries).
 */
export function packNevras(nevras: readonly Nevra[]): string[] {
  const packed = new Array<string>(nevras.length * PACKED_FIELDS);
  let at = 0;
  for (const { name, epoch, version, release, arch } of nevras) {
    packed[at++] = name;
    packed[at++] = epoch;
    packed[at++] = version;
    packed[at++] = release;
    packed[at++] = arch;
  }
  return packed;
}

/** The NEVRAs of a batch {@link packNevras} packed. */
export function unpackNevras(packed: readonly string[]): Nevra[] {
  const nevras = new Array<Nevra>(packed.length / PACKED_FIELDS);
  for (let i = 0, at = 0; at < packed.length; i++, at += PACKED_FIELDS) {
    nevras[i] = { name: packed[at]!, epoch: packed[at + 1]!, version: packed[at + 2]!, release: packed[at + 3]!, arch: packed[at + 4]! };
  }
  return nevras;
}
