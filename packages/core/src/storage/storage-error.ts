import { ErrorCodes, TributaryError, isTributaryError } from '@tributary/plugin-api';

/** TRIBUTARY_ERR_STORAGE for a failed filesystem action, naming the action and the errno. */
export function storageError(action: string, error: unknown): TributaryError {
  const code = (error as NodeJS.ErrnoException)?.code;
  return new TributaryError(ErrorCodes.STORAGE, `cannot ${action}: ${code ?? (error as Error)?.message ?? String(error)}`, {
    cause: error,
    details: code ? { errno: code } : {},
  });
}

/** Runs a filesystem action, turning a raw fs error into TRIBUTARY_ERR_STORAGE naming the action. */
export async function guard<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isTributaryError(error)) throw error;
    throw storageError(action, error);
  }
}
