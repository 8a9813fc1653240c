/**
 * Host events (issue 22, item 7): what an embedder subscribed to `host.events` (and to the
 * `diagnostics_channel` channels) sees of syncs, user changes, distributions and on-demand fetches,
 * with a real host, the file importer, the conformance kit's fixture server and the content app on
 * 127.0.0.1:0.
 */
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createContentApp, createHost, HOST_EVENT_CHANNELS, type Host, type HostEventMap, type HostEventName } from '@tributary/core';
import { fileImporter } from '@tributary/importer-file';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { ErrorCodes } from '@tributary/plugin-api';

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

/** The files of repository `name`: bytes no other repository has (a host stores each file once, so another repository's sync would find them stored). */
function filesOf(name: string): Record<string, string> {
  return { 'a.txt': `alpha of ${name}\n`, 'b.txt': `bravo of ${name}\n`, 'c.txt': `charlie of ${name}\n` };
}

/** Serves repository `name` under `name/`; returns its manifest's url. */
function serveRepo(name: string): string {
  const files = filesOf(name);
  for (const [file, body] of Object.entries(files)) server.setFile(`${name}/${file}`, body);
  server.setFile(`${name}/PULP_MANIFEST`, Object.entries(files).map(([file, body]) => `${file},${sha256(body)},${Buffer.byteLength(body)}\n`).join(''));
  return server.urlFor(`${name}/PULP_MANIFEST`);
}

type Seen = { [K in HostEventName]: { name: K; event: HostEventMap[K] } }[HostEventName];

/** Every event `host` emits while it is recorded, in order. */
function record(host: Host): { seen: Seen[]; names: () => string[]; stop: () => void } {
  const seen: Seen[] = [];
  const offs = (Object.keys(HOST_EVENT_CHANNELS) as HostEventName[]).map((name) => host.events.on(name, (event) => void seen.push({ name, event } as Seen)));
  return { seen, names: () => seen.map((s) => s.name), stop: () => offs.forEach((off) => off()) };
}

function eventOf<K extends HostEventName>(seen: readonly Seen[], name: K): HostEventMap[K] {
  const found = seen.find((s) => s.name === name);
  if (!found) throw new Error(`no '${name}' event among ${seen.map((s) => s.name).join(', ')}`);
  return found.event as HostEventMap[K];
}

let work: string;
let server: FixtureServer;
let host: Host;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-events-'));
  server = await startFixtureServer();
  host = await createHost({ storageRoot: path.join(work, 'host'), plugins: [fileImporter] });
});
afterAll(async () => {
  await host?.close();
  await server?.close();
  await rm(work, { recursive: true, force: true });
});
afterEach(() => server.clearFaults());

describe('sync events', () => {
  it('a sync: started, version committed, finished with its counts; on the diagnostics channels too, with the host id', async () => {
    await host.createRepository({ name: 'ok' });
    const manifestUrl = serveRepo('ok');
    const events = record(host);
    const published: { channel: string; message: Record<string, unknown> }[] = [];
    const onMessage = (message: unknown, channel: string | symbol) => void published.push({ channel: String(channel), message: message as Record<string, unknown> });
    for (const channel of Object.values(HOST_EVENT_CHANNELS)) subscribe(channel, onMessage);
    try {
      await host.sync('ok', { importer: 'file', url: manifestUrl.replace('http://', 'http://user:s3cret@') });
    } finally {
      for (const channel of Object.values(HOST_EVENT_CHANNELS)) unsubscribe(channel, onMessage);
      events.stop();
    }

    expect(events.names()).toEqual(['sync.started', 'version.committed', 'sync.finished']);
    const started = eventOf(events.seen, 'sync.started');
    expect(started).toEqual({ repository: 'ok', syncId: expect.any(String), importer: 'file', url: manifestUrl, policy: 'immediate', mirror: false, force: false, version: 1 });
    expect(eventOf(events.seen, 'version.committed')).toEqual({ repository: 'ok', version: 1, by: 'sync', added: { file: 3 }, removed: {} });
    const finished = eventOf(events.seen, 'sync.finished');
    expect(finished).toMatchObject({ repository: 'ok', syncId: started.syncId, version: 1, newVersion: true, added: { file: 3 }, updated: {}, removed: {}, skipped: 0 });
    expect(finished.report.downloaded.count).toBe(3);
    expect(finished.durationMs).toBeGreaterThanOrEqual(0);

    expect(published.map((p) => p.channel)).toEqual(['tributary:sync:started', 'tributary:version:committed', 'tributary:sync:finished']);
    expect(published[0]!.message).toEqual({ hostId: expect.stringContaining(String(process.pid)), ...started });
    expect(JSON.stringify(published.map((p) => p.message))).not.toContain('s3cret');

    // an unchanged upstream: finished, no version committed
    const again = record(host);
    await host.sync('ok');
    again.stop();
    expect(again.names()).toEqual(['sync.started', 'sync.finished']);
    expect(eventOf(again.seen, 'sync.finished')).toMatchObject({ version: 1, newVersion: false, added: {}, removed: {} });
  });

  it('a failed sync: started, then failed with the error and the version kept; a cancelled one says so', async () => {
    await host.createRepository({ name: 'broken' });
    const manifestUrl = serveRepo('broken');
    server.fault('broken/b.txt', { status: 404 });
    const events = record(host);
    const error = await host.sync('broken', { importer: 'file', url: manifestUrl }).catch((e: unknown) => e);
    events.stop();

    expect(events.names()).toEqual(['sync.started', 'sync.failed']);
    const failed = eventOf(events.seen, 'sync.failed');
    expect(failed).toMatchObject({ repository: 'broken', syncId: eventOf(events.seen, 'sync.started').syncId, version: 0, cancelled: false });
    expect(failed.error).toBe(error);
    expect(failed.error.code).toBe(ErrorCodes.SYNC_FAILED);
    expect(failed.error.details['causeCode']).toBe(ErrorCodes.HTTP_STATUS);

    // cancelled before it began: its signal already aborted
    server.clearFaults();
    const cancelled = record(host);
    await host.sync('broken', { importer: 'file', url: manifestUrl, signal: AbortSignal.abort() }).catch(() => undefined);
    cancelled.stop();
    expect(cancelled.names()).toEqual(['sync.started', 'sync.failed']);
    expect(eventOf(cancelled.seen, 'sync.failed')).toMatchObject({ cancelled: true, version: 0 });
  });

  it('a sync that skips units tells each as it happens, and counts them when it finishes', async () => {
    await host.createRepository({ name: 'gappy' });
    const manifestUrl = serveRepo('gappy');
    server.fault('gappy/c.txt', { status: 404 });
    const events = record(host);
    await host.sync('gappy', { importer: 'file', url: manifestUrl, onError: { skip: 2 } });
    events.stop();

    expect(events.names()).toEqual(['sync.started', 'sync.unit-skipped', 'version.committed', 'sync.finished']);
    expect(eventOf(events.seen, 'sync.started').skipLimit).toBe(2);
    expect(eventOf(events.seen, 'sync.unit-skipped')).toEqual({
      repository: 'gappy',
      syncId: eventOf(events.seen, 'sync.started').syncId,
      unit: expect.objectContaining({ typeId: 'file', relativePath: 'c.txt', url: server.urlFor('gappy/c.txt'), code: ErrorCodes.HTTP_STATUS }),
    });
    expect(eventOf(events.seen, 'sync.finished')).toMatchObject({ added: { file: 2 }, skipped: 1 });
  });

  it('a listener that throws is reported as a warning; the sync and the other listeners go on', async () => {
    await host.createRepository({ name: 'rude' });
    const manifestUrl = serveRepo('rude');
    const warnings: unknown[][] = [];
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => void warnings.push(args));
    const off = host.events.on('sync.started', () => {
      throw new Error('listener bug');
    });
    const events = record(host);
    try {
      await expect(host.sync('rude', { importer: 'file', url: manifestUrl })).resolves.toMatchObject({ version: 1 });
    } finally {
      off();
      events.stop();
      warn.mockRestore();
    }
    expect(events.names()).toEqual(['sync.started', 'version.committed', 'sync.finished']);
    expect(warnings).toEqual([["a listener of host event 'sync.started' failed: listener bug", { code: 'TRIBUTARY_EVENT_LISTENER' }]]);
  });

  it('sync.finished is told once the lease is released: a listener may sync the repository again at once', async () => {
    await host.createRepository({ name: 'chain' });
    const manifestUrl = serveRepo('chain');
    const next = new Promise<unknown>((resolve) => host.events.once('sync.finished', () => resolve(host.sync('chain', { force: true }).catch((e: unknown) => e))));
    await host.sync('chain', { importer: 'file', url: manifestUrl });
    expect(await next).toMatchObject({ repository: 'chain', version: 1, newVersion: false });
  });

  it('once: a listener for the next event only', async () => {
    await host.createRepository({ name: 'twice' });
    const manifestUrl = serveRepo('twice');
    const seen: number[] = [];
    host.events.once('sync.started', (e) => void seen.push(e.version));
    expect(host.events.listenerCount('sync.started')).toBe(1);
    await host.sync('twice', { importer: 'file', url: manifestUrl });
    await host.sync('twice', { force: true });
    expect(seen).toEqual([1]);
    expect(host.events.listenerCount('sync.started')).toBe(0);
  });
});

describe('user changes, distributions, on-demand fetches', () => {
  const FILES = filesOf('lazy');
  beforeAll(async () => {
    await host.createRepository({ name: 'lazy' });
    await host.sync('lazy', { importer: 'file', url: serveRepo('lazy'), policy: 'on_demand' });
  });

  it('removing and adding units by hand commits versions by the user', async () => {
    const key = { relativePath: 'a.txt', sha256: sha256(FILES['a.txt']!) };
    const events = record(host);
    await host.unassociateUnits('lazy', 'file', [key]);
    await host.associateUnits('lazy', 'file', [key]);
    events.stop();
    expect(events.seen).toEqual([
      { name: 'version.committed', event: { repository: 'lazy', version: 2, by: 'user', added: {}, removed: { file: 1 } } },
      { name: 'version.committed', event: { repository: 'lazy', version: 3, by: 'user', added: { file: 1 }, removed: {} } },
    ]);
  });

  it('a distribution created, updated and deleted', async () => {
    const events = record(host);
    await host.distributions.create('d1', { basePath: 'files/lazy', repository: 'lazy' });
    await host.distributions.update('d1', { version: 1 });
    await host.distributions.delete('d1');
    events.stop();
    expect(events.seen).toEqual([
      { name: 'distribution.changed', event: { change: 'created', name: 'd1', distribution: { basePath: 'files/lazy', repository: 'lazy', version: null } } },
      { name: 'distribution.changed', event: { change: 'updated', name: 'd1', distribution: { basePath: 'files/lazy', repository: 'lazy', version: 1 } } },
      { name: 'distribution.changed', event: { change: 'deleted', name: 'd1', distribution: null } },
    ]);
  });

  it('a file fetched on demand through the content app, and by an export', async () => {
    await host.distributions.create('served', { basePath: 'served', repository: 'lazy' });
    const app = createContentApp(host);
    const served = record(host);
    try {
      const address = await app.server.listen({ host: '127.0.0.1', port: 0 });
      const response = await fetch(`${address}/content/served/b.txt`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(FILES['b.txt']);
    } finally {
      // waits for on-demand fetches to settle
      await app.close();
      served.stop();
    }
    expect(served.seen).toEqual([
      { name: 'artifact.fetched', event: { via: 'serve', path: 'b.txt', sha256: sha256(FILES['b.txt']!), size: Buffer.byteLength(FILES['b.txt']!), unitId: expect.any(String) } },
    ]);

    // b.txt is stored now: an export fetches the other two
    const events = record(host);
    await host.exportRepository('lazy', path.join(work, 'export'));
    events.stop();
    expect(events.seen.filter((s) => s.name === 'artifact.fetched').map((s) => [(s.event as HostEventMap['artifact.fetched']).via, (s.event as HostEventMap['artifact.fetched']).path]).sort()).toEqual([
      ['export', 'a.txt'],
      ['export', 'c.txt'],
    ]);
  });
});
