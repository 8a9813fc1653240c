import { channel, type Channel } from 'node:diagnostics_channel';
import { HOST_EVENT_CHANNELS, type HostEventMap, type HostEventName } from './host-event-types.js';

/** Called with each event of one name; a promise it returns is not awaited. */
export type HostEventListener<K extends HostEventName> = (event: HostEventMap[K]) => void | Promise<void>;

/**
 * What an embedder subscribes to on `host.events`: typed events for syncs, versions, distributions
 * and on-demand fetches (see {@link HostEventMap}).
 *
 * Listeners run synchronously, in the order they were added, at the moment the host does what the
 * event names; they observe and cannot change the outcome. One that throws (or returns a promise
 * that rejects) is reported as a process warning (`TRIBUTARY_EVENT_LISTENER`) and the others still
 * run; a listener with slow work should start it and return.
 *
 * @example
 * ```ts
 * const off = host.events.on('sync.finished', (e) => console.log(`${e.repository} v${e.version}: ${e.skipped} skipped`));
 * await host.sync('epel', { onError: 'skip' });
 * off();
 * ```
 */
export interface HostEventSource {
  /** Adds a listener; returns the function that removes it. */
  on<K extends HostEventName>(name: K, listener: HostEventListener<K>): () => void;
  /** Adds a listener for the next event of that name only; returns the function that removes it. */
  once<K extends HostEventName>(name: K, listener: HostEventListener<K>): () => void;
  off<K extends HostEventName>(name: K, listener: HostEventListener<K>): void;
  listenerCount(name: HostEventName): number;
}

type AnyListener = (event: unknown) => void | Promise<void>;

const channels = new Map<HostEventName, Channel>();

function channelOf(name: HostEventName): Channel {
  let found = channels.get(name);
  if (!found) channels.set(name, (found = channel(HOST_EVENT_CHANNELS[name])));
  return found;
}

/**
 * One host's events: its listeners, and the `diagnostics_channel` channels every event is also
 * published on ({@link HOST_EVENT_CHANNELS}), with `hostId` added to the message.
 */
export class HostEvents implements HostEventSource {
  private readonly listeners = new Map<HostEventName, AnyListener[]>();

  constructor(private readonly hostId: string) {}

  on<K extends HostEventName>(name: K, listener: HostEventListener<K>): () => void {
    const list = this.listeners.get(name);
    if (list) list.push(listener as AnyListener);
    else this.listeners.set(name, [listener as AnyListener]);
    return () => this.off(name, listener);
  }

  once<K extends HostEventName>(name: K, listener: HostEventListener<K>): () => void {
    const wrapper: HostEventListener<K> = (event) => {
      this.off(name, wrapper);
      return listener(event);
    };
    return this.on(name, wrapper);
  }

  off<K extends HostEventName>(name: K, listener: HostEventListener<K>): void {
    const list = this.listeners.get(name);
    const at = list?.indexOf(listener as AnyListener) ?? -1;
    if (at >= 0) list!.splice(at, 1);
  }

  listenerCount(name: HostEventName): number {
    return this.listeners.get(name)?.length ?? 0;
  }

  /** Tells the listeners and the event's channel. Never throws. */
  emit<K extends HostEventName>(name: K, event: HostEventMap[K]): void {
    const list = this.listeners.get(name);
    if (list && list.length > 0) {
      // a copy: a listener may remove itself (once) or others
      for (const listener of [...list]) {
        try {
          const returned = listener(event);
          if (returned && typeof (returned as Promise<void>).catch === 'function') (returned as Promise<void>).catch((error: unknown) => listenerFailed(name, error));
        } catch (error) {
          listenerFailed(name, error);
        }
      }
    }
    const published = channelOf(name);
    if (published.hasSubscribers) published.publish({ hostId: this.hostId, ...event });
  }
}

function listenerFailed(name: HostEventName, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`a listener of host event '${name}' failed: ${message}`, { code: 'TRIBUTARY_EVENT_LISTENER' });
}
