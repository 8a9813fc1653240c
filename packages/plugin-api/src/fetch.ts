import type { Digests } from './content.js';
import type { DownloadedFile } from './conduit.js';

/** What a download must match; checked while the bytes stream, before anything is kept. */
export interface DownloadExpectation {
  readonly size?: number;
  readonly digests?: Digests;
  /** Refuse (typed error) once more than this many bytes arrive. */
  readonly maxBytes?: number;
}

/**
 * The host's downloader as a plugin sees it. It carries the remote's settings (auth, TLS, proxy,
 * headers, concurrency, retries) so a plugin never handles credentials itself. `file://` works too.
 */
export interface RemoteFetcher {
  /**
   * Downloads `url` (or each of several urls in turn until one succeeds) to a temporary file in
   * the host's storage area, verifying size and digests while streaming. The caller either hands
   * the file to `saveArtifacts`/`addOrUpdateUnits`, or deletes it; the host removes leftovers
   * when the sync ends.
   */
  download(url: string | readonly string[], expected?: DownloadExpectation, signal?: AbortSignal): Promise<DownloadedFile>;
  /**
   * Set when the fetcher itself runs at most this many transfers at once per remote (the host's
   * downloader does). A `download` promise also covers writing the body to disk, so a pipeline
   * whose concurrency is at least this may keep more downloads outstanding than it: transfers go
   * on while finished bodies wait for the disk.
   */
  readonly transferLimit?: number;
}
