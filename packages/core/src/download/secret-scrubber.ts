import { isTributaryError } from '@tributary/plugin-api';

/** Secrets shorter than this are not scrubbed: replacing every "ab" in a message helps no one. */
const MIN_SECRET_LENGTH = 3;

/**
 * The last line of defence for credentials: remembers the secrets a Downloader was given (passwords,
 * their Basic-auth encodings, Authorization header values, url userinfo) and blanks them out of
 * any message, error or detail before it leaves. Messages are built from redacted urls in the first
 * place; this catches what a lower layer might have echoed.
 */
export class SecretScrubber {
  private readonly secrets = new Set<string>();

  /** Registers basic-auth credentials and returns the Authorization header value for them. */
  addBasic(username: string, password: string): string {
    const token = Buffer.from(`${username}:${password}`).toString('base64');
    this.add(password);
    this.add(`${username}:${password}`);
    this.add(token);
    return `Basic ${token}`;
  }

  /** Registers a header value (and its credential part, as in `Bearer <token>`). */
  addHeaderValue(value: string): void {
    this.add(value);
    const space = value.indexOf(' ');
    if (space > 0) this.add(value.slice(space + 1).trim());
  }

  /** Registers the password (raw and decoded) in a url's userinfo, if it has one. */
  addUrlUserinfo(url: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return;
    }
    if (parsed.password === '') return;
    this.add(parsed.password);
    try {
      this.add(decodeURIComponent(parsed.password));
    } catch {
      // undecodable: the raw form is registered already
    }
    this.add(`${parsed.username}:${parsed.password}`);
  }

  text(value: string): string {
    let result = value;
    for (const secret of this.secrets) {
      if (result.includes(secret)) result = result.split(secret).join('***');
    }
    return result;
  }

  /** Scrubs a typed error's message and string details in place, and returns it. */
  error<E>(error: E): E {
    if (this.secrets.size === 0 || !(error instanceof Error)) return error;
    error.message = this.text(error.message);
    if (typeof error.stack === 'string') error.stack = this.text(error.stack);
    if (isTributaryError(error)) {
      for (const [key, value] of Object.entries(error.details)) {
        if (typeof value === 'string') error.details[key] = this.text(value);
      }
    }
    return error;
  }

  private add(secret: string): void {
    if (secret.length >= MIN_SECRET_LENGTH) this.secrets.add(secret);
  }
}
