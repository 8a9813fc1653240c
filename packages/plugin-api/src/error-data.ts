import { ErrorCodes, isTributaryError, TributaryError, type ErrorCode } from './errors.js';

/**
 * An error as plain data, for crossing to another thread or process (structured clone, JSON): a
 * TributaryError keeps its code and details, every error its name, message and stack.
 */
export interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly code?: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly stack?: string;
}

/** `error` as {@link ErrorData}; a thrown value that is no Error keeps its text. */
export function errorData(error: unknown): ErrorData {
  const stack = error instanceof Error && error.stack ? { stack: error.stack } : {};
  if (isTributaryError(error)) return { name: error.name, message: error.message, code: error.code, details: error.details, ...stack };
  if (error instanceof Error) return { name: error.name, message: error.message, ...stack };
  return { name: 'Error', message: String(error) };
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));

/**
 * The error `data` describes, made again on this side: a TributaryError of its code (or of
 * `fallbackCode` when it has none this copy of plugin-api knows), else a plain Error of its name.
 * Its stack is the one of the side that threw it.
 *
 * @example
 * ```ts
 * worker.on('message', (m) => { if (m.failed) reject(errorFromData(m.error)) })
 * ```
 */
export function errorFromData(data: ErrorData, fallbackCode?: ErrorCode): Error {
  const code = data.code !== undefined && KNOWN_CODES.has(data.code) ? data.code : fallbackCode;
  const error =
    code !== undefined
      ? new TributaryError(code, data.message, { details: { ...(data.details ?? {}) } })
      : Object.assign(new Error(data.message), { name: data.name });
  if (data.stack) error.stack = data.stack;
  return error;
}
