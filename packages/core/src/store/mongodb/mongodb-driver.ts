import type * as Driver from 'mongodb';

let driver: typeof Driver | undefined;

/**
 * The `mongodb` driver, loaded the first time a MongoDB store needs it. Loading it costs about
 * 22 MiB of memory (bson keeps a 17 MiB buffer) and 230 ms of start-up on this project's VM, which
 * every `tributary` command and every embedded SQLite host would otherwise pay for nothing.
 */
export function mongodbDriver(): typeof Driver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a deliberate lazy load
  return (driver ??= require('mongodb') as typeof Driver);
}
