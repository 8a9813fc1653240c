import type * as Driver from 'mongodb';

let driver: typeof Driver | undefined;

/**
 * The `mongodb` driver, loaded the first time a MongoDB store needs it: loading it costs tens of
 * MiB (bson keeps a large buffer) and a noticeable share of start-up, which every `tributary`
 * command and every embedded SQLite host would otherwise pay for nothing.
 */
export function mongodbDriver(): typeof Driver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a deliberate lazy load
  return (driver ??= require('mongodb') as typeof Driver);
}
