import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** What a claim file says: who fetches, and (once the body streams to disk) into which file. */
export interface ClaimInfo {
  readonly host: string;
  readonly pid: number;
  readonly path?: string;
}

/** A claim this process holds: it fetches the artifact; others follow. */
export interface HeldClaim {
  /** Records the file the body is streaming into, for the processes that follow. */
  streamingTo(file: string): void;
  /** Gives the claim up (done or failed); followers then look for the stored artifact. */
  release(): Promise<void>;
}

export type ClaimOutcome = { readonly held: HeldClaim } | { readonly file: string; readonly owner: ClaimInfo };

const HOST = hostname();

/**
 * Claims on artifacts being fetched on demand, shared by every process using one storage root
 * (`tmp/on-demand-claims/`): the first to create an artifact's claim file (O_EXCL) fetches it,
 * the others follow its file as it grows and take the stored artifact when the claim goes. So
 * `serve --workers N` and several `serve` processes on one home fetch an artifact once between them.
 */
export class FetchClaims {
  private readonly dir: string;
  private ready: Promise<unknown> | undefined;

  constructor(storageRoot: string) {
    this.dir = path.join(storageRoot, 'tmp', 'on-demand-claims');
  }

  /** Holds the claim on `key`, or names the claim file another process holds. */
  async claim(key: string): Promise<ClaimOutcome> {
    await (this.ready ??= mkdir(this.dir, { recursive: true }));
    const file = path.join(this.dir, `${createHash('sha256').update(key).digest('hex')}.claim`);
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(file, 'wx');
        try {
          await handle.writeFile(JSON.stringify({ host: HOST, pid: process.pid } satisfies ClaimInfo));
        } finally {
          await handle.close();
        }
        return { held: heldClaim(file) };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // the directory goes when orphan cleanup finds it idle: made again
        if (code === 'ENOENT' && attempt < 3) {
          await mkdir(this.dir, { recursive: true });
          continue;
        }
        if (code !== 'EEXIST') {
          throw new TributaryError(ErrorCodes.STORAGE, `cannot create the on-demand claim file ${file}: ${code ?? (error as Error).message}`, { details: { file }, cause: error });
        }
      }
      const owner = await readClaim(file);
      if (owner === 'gone') continue;
      // an owner that died on this machine never releases: its claim is taken over
      if (owner !== 'unreadable' && owner.host === HOST && !isAlive(owner.pid) && attempt < 3) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      return { file, owner: owner === 'unreadable' ? { host: '?', pid: 0 } : owner };
    }
  }

  /** Removes a claim whose owner stopped making progress (it may be on another machine). */
  async breakStale(file: string): Promise<void> {
    await unlink(file).catch(() => undefined);
  }
}

/** A claim file's content: 'gone' when released, 'unreadable' while being written. */
export async function readClaim(file: string): Promise<ClaimInfo | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const info = JSON.parse(text) as ClaimInfo;
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Whether the owner on this machine still runs, from its claim; true for another machine's. */
export function ownerAlive(owner: ClaimInfo): boolean {
  return owner.host !== HOST || isAlive(owner.pid);
}

/** The size of the file a follower reads, or undefined when it is not there (yet, or any more). */
export async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

function heldClaim(file: string): HeldClaim {
  let writing: Promise<unknown> = Promise.resolve();
  let released = false;
  return {
    streamingTo(body: string) {
      writing = writing.then(() => (released ? undefined : writeFile(file, JSON.stringify({ host: HOST, pid: process.pid, path: body } satisfies ClaimInfo)))).catch(() => undefined);
    },
    async release() {
      released = true;
      await writing;
      await unlink(file).catch(() => undefined);
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
