import { startFixtureServer, type FaultSpec, type FixtureServer } from './fixture-server.js';
import type { LoadedState } from './fixture-states.js';

/**
 * The author's fixture repository served over HTTP by a fixture server, switchable between its
 * states at one url, as a real upstream changes between syncs.
 */
export class FixtureUpstream {
  private current: LoadedState;

  private constructor(
    readonly server: FixtureServer,
    private readonly feedPath: string,
    state: LoadedState,
  ) {
    this.current = state;
  }

  /** Serves `state` on a new fixture server on 127.0.0.1. */
  static async start(state: LoadedState, feedPath: string): Promise<FixtureUpstream> {
    const server = await startFixtureServer();
    server.setFiles(Object.fromEntries(state.files));
    return new FixtureUpstream(server, feedPath, state);
  }

  /** The url a sync is given. */
  get feedUrl(): string {
    return this.server.urlFor(this.feedPath);
  }

  get state(): LoadedState {
    return this.current;
  }

  /** From now on, serves `state` instead (faults are kept). */
  serve(state: LoadedState): void {
    this.current = state;
    this.server.setFiles(Object.fromEntries(state.files));
  }

  fault(path: string, spec: FaultSpec): void {
    this.server.fault(path, spec);
  }

  /** Serves `path` with one byte changed (same size), so only its digest gives it away. */
  corrupt(path: string): void {
    const bytes = this.current.files.get(path);
    if (!bytes || bytes.length === 0) throw new Error(`cannot corrupt '${path}': the fixture state '${this.current.name}' has no such non-empty file`);
    const corrupted = Buffer.from(bytes);
    corrupted[corrupted.length >> 1] = (corrupted[corrupted.length >> 1] as number) ^ 0xff;
    this.server.fault(path, { body: corrupted });
  }

  /** Decoded paths (no leading slash, no query) of the requests received, oldest first. */
  requestedPaths(from = 0): string[] {
    return this.server.requests.slice(from).map((r) => servedPath(r.path));
  }

  /** The served path a url points at, when it points at this server. */
  pathOfUrl(url: string): string | undefined {
    try {
      const parsed = new URL(url);
      if (parsed.origin !== new URL(this.server.url).origin) return undefined;
      return servedPath(parsed.pathname);
    } catch {
      return undefined;
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

function servedPath(target: string): string {
  const raw = target.split('?')[0] as string;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // leave it encoded: it matches no fixture file either way
  }
  return decoded.replace(/^\/+/, '');
}
