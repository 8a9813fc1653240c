import { ErrorCodes, TributaryError, type DeclarativeContent, type UnitArtifactInput, type UnitKey } from '@tributary/plugin-api';

/**
 * What an importer emitted in one sync, kept small enough for syncs of millions of units: each
 * unit identity (type and key) and each artifact relative path is remembered as a 64-bit hash in a
 * typed-array hash table (16 bytes a slot, at most 70 % full), never as the strings themselves.
 * A pipeline's first stage output records what is put() ({@link record}); a conduit-style
 * importer's conduit records what is saved ({@link recordUnit}).
 *
 * A key emitted again is fine when its content (metadata and files, by a cheap 32-bit signature) is
 * the same: upstream indexes do list a package twice. A key emitted again with other content, or a
 * relative path claimed by two different keys, is reported: the store would keep one of them, and
 * an export of the repository would silently drop the other.
 */
export class EmissionIndex {
  private readonly keys = new HashTable();
  private readonly paths = new HashTable();
  /** Content seen so far (its 1-based number is what a report of a duplicate names). */
  count = 0;

  /**
   * Records `dc`, put() by a first stage; returns a description of the conflict when it clashes
   * with content emitted earlier in the sync (undefined when it does not).
   */
  record(dc: DeclarativeContent): EmissionConflict | undefined {
    keyHash(dc);
    const k1 = H[0]! >>> 0;
    const k2 = H[1]! >>> 0;
    // metadata only when there is no text: reading a content's metadata parses its text and drops it
    const text = dc.metadataJson;
    let signature = text !== undefined ? sampledString(text) : metadataSignature(dc.metadata);
    for (const artifact of dc.artifacts) signature = fileSignature(signature, artifact.relativePath, artifact.digests.sha256 ?? '', artifact.size ?? -1);
    return this.recordHashed(k1, k2, signature >>> 0, dc.artifacts);
  }

  /**
   * Records a unit handed to the conduit, as it is written: `unitId` (a hash of type and canonical
   * key), its metadata (parsed, so text and object give one signature) and files (`relativePath`
   * checked, `sha256` known once a file is adopted), and the files as given (`given[i]` for
   * `artifacts[i]`) for the sha256 a listing declares.
   */
  recordUnit(
    unit: { readonly unitId: string; readonly metadata: unknown; readonly artifacts: readonly { readonly relativePath: string; readonly sha256: string | null }[] },
    given: readonly UnitArtifactInput[],
  ): EmissionConflict | undefined {
    stringHash(unit.unitId, 0x811c9dc5, 0x9747b28c);
    const k1 = H[0]! >>> 0;
    const k2 = H[1]! >>> 0;
    let signature = metadataSignature(unit.metadata);
    for (let a = 0; a < unit.artifacts.length; a++) {
      const artifact = unit.artifacts[a]!;
      const sha256 = artifact.sha256 ?? given[a]?.digests?.sha256 ?? given[a]?.remote?.digests?.sha256 ?? '';
      // no size: a file handed over is sized by its bytes while a listing may leave the size out,
      // and the sha256 already tells the bytes apart
      signature = fileSignature(signature, artifact.relativePath, sha256.toLowerCase(), -1);
    }
    return this.recordHashed(k1, k2, signature >>> 0, unit.artifacts);
  }

  private recordHashed(k1: number, k2: number, signature: number, artifacts: readonly { readonly relativePath: string }[]): EmissionConflict | undefined {
    const ordinal = ++this.count;
    const earlier = this.keys.getOrSet(k1, k2, signature, ordinal);
    if (earlier !== undefined) {
      if (earlier.value !== signature) return { kind: 'key', ordinal, earlierOrdinal: earlier.ordinal };
      return undefined; // the same unit again, the same content: harmless
    }
    for (const artifact of artifacts) {
      stringHash(artifact.relativePath, 0x811c9dc5, 0x01000193);
      // the value is the first owner's key hash, so a path listed twice by one unit is the unit's own concern
      const owner = this.paths.getOrSet(H[0]! >>> 0, H[1]! >>> 0, k1 ^ k2, ordinal);
      if (owner !== undefined && owner.value !== ((k1 ^ k2) >>> 0)) {
        return { kind: 'path', ordinal, earlierOrdinal: owner.ordinal, relativePath: artifact.relativePath };
      }
    }
    return undefined;
  }
}

export interface EmissionConflict {
  readonly kind: 'key' | 'path';
  /** 1-based number, in the order recorded, of the content that clashes. */
  readonly ordinal: number;
  /** 1-based number of the earlier content it clashes with. */
  readonly earlierOrdinal: number;
  readonly relativePath?: string;
}

/** Who emitted content, in the words of the error that refuses a duplicate. */
export interface Emitter {
  /** The stage named in the error's details (`sync` for a conduit-style importer). */
  readonly stage: string;
  /** The subject of the message: `stage X`, `the importer's sync()`. */
  readonly who: string;
  /** What it did with the content: `emitted`, `saved`. */
  readonly verb: string;
  /** What the numbers count: `content`, `unit`. */
  readonly noun: string;
  /** Says, in parentheses after the numbers, what they count when the noun alone does not. */
  readonly numbering?: string;
}

/**
 * The error refusing a duplicate (TRIBUTARY_ERR_PLUGIN_MISBEHAVED): the one message the pipeline
 * and the conduit give, naming the unit and both emissions.
 */
export function emissionConflictError(emitter: Emitter, typeId: string, key: UnitKey, conflict: EmissionConflict): TributaryError {
  const unit = describeUnit(typeId, key);
  const earlier = `${emitter.noun} #${conflict.earlierOrdinal}`;
  const numbering = emitter.numbering ? ` (${emitter.numbering})` : '';
  const message =
    conflict.kind === 'key'
      ? `${emitter.who} ${emitter.verb} unit ${unit} twice in one sync with different metadata or files (${earlier} and #${conflict.ordinal}${numbering}): only one of them would be stored. ` +
        'Each unit key must identify one upstream record; add the field that tells them apart to the key (and to keyFields), or emit the record once'
      : `${emitter.who} ${emitter.verb} ${emitter.noun} #${conflict.ordinal} (${unit}) with artifact '${conflict.relativePath}', the relative path ${earlier}, a different unit, already uses${numbering}: an export would keep only one of the files. ` +
        'Give every file its own relative path (e.g. include the directory or version it comes from)';
  return new TributaryError(ErrorCodes.PLUGIN_MISBEHAVED, message, {
    details: {
      stage: emitter.stage,
      rule: conflict.kind === 'key' ? 'duplicate-key' : 'duplicate-relative-path',
      typeId,
      key,
      ordinal: conflict.ordinal,
      earlierOrdinal: conflict.earlierOrdinal,
      ...(conflict.relativePath !== undefined ? { relativePath: conflict.relativePath } : {}),
    },
  });
}

/** `'type' {"key":"fields"}`, for messages (a key JSON cannot show is shown as a string). */
export function describeUnit(typeId: unknown, key: unknown): string {
  let shown: string;
  try {
    shown = JSON.stringify(key);
  } catch {
    shown = String(key);
  }
  return `'${String(typeId)}' ${shown}`;
}

// Two 32-bit hashes computed in one pass, returned through this (a typed array: module variables
// holding numbers beyond 2^30 would allocate a heap number at every assignment).
const H = new Int32Array(2);

function stringHash(s: string, seed1: number, seed2: number): void {
  H[0] = seed1 | 0;
  H[1] = seed2 | 0;
  mix(s);
  finish();
}

/** Feeds `s` into the running pair of hashes. */
function mix(s: string): void {
  let a = H[0];
  let b = H[1];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  H[0] = a;
  H[1] = b;
}

function finish(): void {
  let a = H[0];
  let b = H[1];
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 15;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  H[0] = a;
  H[1] = b;
}

/** Type and key, independent of the order of the key's fields (each field is hashed alone, the hashes summed). */
function keyHash(dc: DeclarativeContent): void {
  stringHash(dc.typeId, 0x811c9dc5, 0x9747b28c);
  let a = H[0];
  let b = H[1];
  const key = dc.key as Record<string, unknown>;
  for (const field in key) {
    const value = key[field];
    H[0] = 0x811c9dc5;
    H[1] = 0x9747b28c;
    mix(field);
    // a type mark between name and value: 1 and '1' are different keys
    H[0] = Math.imul(H[0] ^ (typeof value === 'string' ? 1 : 2), 0x01000193);
    H[1] = Math.imul(H[1] ^ (typeof value === 'string' ? 1 : 2), 0x5bd1e995);
    mix(typeof value === 'string' ? value : String(value));
    finish();
    a = (a + H[0]) | 0;
    b = (b + H[1]) | 0;
  }
  H[0] = a;
  H[1] = b;
}

/**
 * A cheap signature of the metadata content would store (top-level fields in any order; long
 * strings sampled at both ends, nested values to a small depth; metadata given as text is signed
 * by its sampled text instead), to which {@link fileSignature} adds its files. Equal content always
 * has equal signatures; a difference deep inside a long text may go unnoticed, which only means a
 * duplicate is taken for the same unit.
 */
function metadataSignature(metadata: unknown): number {
  let signature = 0;
  const fields = metadata as Record<string, unknown>;
  // values only (summed, so field order does not matter): a field renamed but keeping its value goes unnoticed
  for (const field in fields) signature = (signature + valueSignature(fields[field], 0)) | 0;
  return signature;
}

/** `signature` with one file: its relative path, sha256 ('' when unknown) and size (-1 when unknown). */
function fileSignature(signature: number, relativePath: string, sha256: string, size: number): number {
  signature = Math.imul(signature ^ sampledString(relativePath), 0x01000193);
  signature = Math.imul(signature ^ sampledString(sha256), 0x01000193);
  return Math.imul(signature ^ size, 0x01000193);
}

function valueSignature(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return sampledString(value);
    case 'number':
      return Number.isInteger(value) ? Math.imul((value as number) | 0, 0x9e3779b1) ^ 0x1234567 : sampledString(String(value));
    case 'boolean':
      return value ? 0x2545f491 : 0x6a09e667;
    case 'undefined':
      return 0x3c6ef372;
    case 'object': {
      if (value === null) return 0x510e527f;
      if (depth >= 2) return 0x1f83d9ab;
      if (Array.isArray(value)) {
        let s = value.length ^ 0x5be0cd19;
        const shown = Math.min(value.length, 8);
        for (let i = 0; i < shown; i++) s = Math.imul(s ^ valueSignature(value[i], depth + 1), 0x01000193);
        return s;
      }
      let s = 0x9b05688c;
      let fields = 0;
      for (const field in value as Record<string, unknown>) {
        if (++fields > 32) break;
        s = (s + Math.imul(valueSignature((value as Record<string, unknown>)[field], depth + 1), 0x9e3779b1)) | 0;
      }
      return s;
    }
    default:
      return 0;
  }
}

/** A string's length and up to 16 of its characters: the first and last 8. */
function sampledString(s: string): number {
  const n = s.length;
  let a = n ^ 0x811c9dc5;
  if (n <= 16) {
    for (let i = 0; i < n; i++) a = Math.imul(a ^ s.charCodeAt(i), 0x01000193);
    return a;
  }
  for (let i = 0; i < 8; i++) a = Math.imul(a ^ s.charCodeAt(i), 0x01000193);
  for (let i = n - 8; i < n; i++) a = Math.imul(a ^ s.charCodeAt(i), 0x01000193);
  return a;
}

/**
 * Open-addressing hash table of 64-bit hashes (two 32-bit words, never both 0) to a 32-bit value
 * and the ordinal that first set it.
 */
class HashTable {
  private slots = new Uint32Array(4 * 1024);
  /** 32 minus log2 of the number of slots. */
  private shift = 32 - 10;
  private size = 0;

  /** The entry already there (its value and ordinal), or undefined after setting it. */
  getOrSet(a: number, b: number, value: number, ordinal: number): { value: number; ordinal: number } | undefined {
    if (a === 0 && b === 0) b = 1;
    const found = this.find(a >>> 0, b >>> 0);
    const slots = this.slots;
    if (slots[found] !== 0 || slots[found + 1] !== 0) return { value: slots[found + 2]!, ordinal: slots[found + 3]! };
    slots[found] = a;
    slots[found + 1] = b;
    slots[found + 2] = value;
    slots[found + 3] = ordinal;
    if (++this.size * 10 > (slots.length / 4) * 7) this.grow();
    return undefined;
  }

  private find(a: number, b: number): number {
    const slots = this.slots;
    const mask = slots.length / 4 - 1;
    // Fibonacci hashing: the product's top bits are well mixed
    let i = (Math.imul(a ^ (b >>> 7), 0x9e3779b1) >>> this.shift) & mask;
    for (;;) {
      const at = i * 4;
      const sa = slots[at]!;
      const sb = slots[at + 1]!;
      if ((sa === 0 && sb === 0) || (sa === a && sb === b)) return at;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Uint32Array(old.length * 2);
    this.slots = slots;
    this.shift--;
    for (let at = 0; at < old.length; at += 4) {
      if (old[at] === 0 && old[at + 1] === 0) continue;
      const to = this.find(old[at]!, old[at + 1]!);
      slots[to] = old[at]!;
      slots[to + 1] = old[at + 1]!;
      slots[to + 2] = old[at + 2]!;
      slots[to + 3] = old[at + 3]!;
    }
  }
}
