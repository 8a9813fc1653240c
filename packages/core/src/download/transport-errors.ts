import { ErrorCodes, TributaryError, isTributaryError } from '@tributary/plugin-api';

const TIMEOUT_PHASES: Readonly<Record<string, string>> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'headers',
  UND_ERR_BODY_TIMEOUT: 'idle',
  ETIMEDOUT: 'connect',
};

/** TLS verification failures: retrying cannot fix them, so they fail at once. */
const TLS_VERIFY = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;

/**
 * Turns what undici or Node raised during a transfer into TRIBUTARY_ERR_TIMEOUT or
 * TRIBUTARY_ERR_NETWORK naming the (already redacted) url. Typed errors pass through unchanged.
 */
export function transportError(error: unknown, displayUrl: string): TributaryError {
  if (isTributaryError(error)) return error;
  const code = errorCode(error);
  const reason = describe(error);
  const phase = code === undefined ? undefined : TIMEOUT_PHASES[code];
  if (phase !== undefined) {
    return new TributaryError(ErrorCodes.TIMEOUT, `download of ${displayUrl} timed out (${phase}): ${reason}`, {
      cause: error,
      details: { url: displayUrl, phase },
    });
  }
  const tls = code !== undefined && TLS_VERIFY.test(code);
  return new TributaryError(
    ErrorCodes.NETWORK,
    `download of ${displayUrl} failed: ${reason}${tls ? ' (set the remote\'s ca option to trust this certificate, or tlsValidation: false)' : ''}`,
    { cause: error, details: { url: displayUrl, errno: code, ...(tls ? { tls: true } : {}) } },
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const inner = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof inner === 'string' ? inner : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    const message = error.message || error.name;
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}
