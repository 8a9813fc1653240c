import { isTributaryError } from '@tributary/plugin-api';

/** An error as a plugin author reads it: code and message of the typed error, or the plain message. */
export function describeError(error: unknown): string {
  if (isTributaryError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message} (not a typed TributaryError)`;
  return String(error);
}

/** Codes of every typed error in the cause chain, outermost first. */
export function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current; depth++) {
    if (isTributaryError(current)) codes.push(current.code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}
