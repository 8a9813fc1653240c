export { DOWNLOAD_RETRY_CHANNEL, DOWNLOAD_URL_FAILED_CHANNEL, Downloader, type DownloadScope, type DownloaderStats } from './downloader.js';
export { redactUrl } from './redact-url.js';
export type { RemoteOptions } from './remote-options.js';
export { withoutCredentials } from './url-credentials.js';
