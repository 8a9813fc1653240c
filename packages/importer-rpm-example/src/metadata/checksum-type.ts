import { DIGEST_ALGORITHMS, DIGEST_HEX_LENGTH, ErrorCodes, TributaryError, type DigestAlgorithm } from '@tributary/plugin-api';

/** Strongest first: which of several checksums names a metadata unit. */
const STRENGTH: readonly DigestAlgorithm[] = ['sha512', 'sha384', 'sha256', 'sha224', 'sha1', 'md5'];

/**
 * The digest algorithm a yum checksum `type` attribute names. `sha` is what old createrepo wrote
 * for SHA-1 (and createrepo_c still writes with `--checksum sha`), so it maps to `sha1`.
 * Returns undefined for types Tributary cannot verify.
 */
export function digestAlgorithmOf(type: string | undefined): DigestAlgorithm | undefined {
  if (!type) return undefined;
  if ((DIGEST_ALGORITHMS as readonly string[]).includes(type)) return type as DigestAlgorithm; // the usual case, as is
  const normalised = type.trim().toLowerCase().replace(/-/g, '');
  if (normalised === 'sha') return 'sha1';
  return (DIGEST_ALGORITHMS as readonly string[]).includes(normalised) ? (normalised as DigestAlgorithm) : undefined;
}

/**
 * Checks one checksum from upstream metadata and returns it normalised (algorithm name, lower-case
 * hex). Throws TRIBUTARY_ERR_DIGEST_INVALID naming `place` for an unknown type or a value that is not
 * hex of the algorithm's length.
 */
export function checkedChecksum(type: string | undefined, value: string | undefined, place: string | (() => string)): { algorithm: DigestAlgorithm; hex: string } {
  const algorithm = digestAlgorithmOf(type);
  if (!algorithm) {
    throw new TributaryError(
      ErrorCodes.DIGEST_INVALID,
      `${placeText(place)}: checksum type ${JSON.stringify(type ?? '')} is not supported (expected one of md5, sha/sha1, sha224, sha256, sha384, sha512)`,
      { details: { where: placeText(place), checksumType: type } },
    );
  }
  const hex = (value ?? '').trim().toLowerCase();
  if (hex.length !== DIGEST_HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new TributaryError(
      ErrorCodes.DIGEST_INVALID,
      `${placeText(place)}: ${algorithm} checksum ${JSON.stringify(hex.slice(0, 140))} is not ${DIGEST_HEX_LENGTH[algorithm]} hex digits`,
      { details: { where: placeText(place), checksumType: algorithm } },
    );
  }
  return { algorithm, hex };
}

/** `place` of checkedChecksum as text; a function, because primary.xml checks one checksum per package and a message is rarely needed. */
function placeText(place: string | (() => string)): string {
  return typeof place === 'string' ? place : place();
}

/** The strongest algorithm among `algorithms`. */
export function strongestAlgorithm(algorithms: Iterable<DigestAlgorithm>): DigestAlgorithm | undefined {
  const present = new Set(algorithms);
  return STRENGTH.find((a) => present.has(a));
}
