import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { FetchClaims, readClaim } from '../src/publish/fetch-claims';

describe('FetchClaims: one fetch of an artifact per storage root', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'fetch-claims-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('the first claim holds; the next names the holder and its file; after release the next holds', async () => {
    const claims = new FetchClaims(root);
    const first = await claims.claim('sha256:aa');
    if (!('held' in first)) throw new Error('expected to hold the claim');
    const second = await new FetchClaims(root).claim('sha256:aa');
    if ('held' in second) throw new Error('expected the claim to be taken');
    expect(second.owner).toMatchObject({ host: hostname(), pid: process.pid });
    first.held.streamingTo('/storage/tmp/scope/file-1');
    // written in the background: waited for, however busy the machine
    let claim = await readClaim(second.file);
    for (let i = 0; i < 1000 && !(typeof claim === 'object' && claim.path !== undefined); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      claim = await readClaim(second.file);
    }
    expect(claim).toEqual({ host: hostname(), pid: process.pid, path: '/storage/tmp/scope/file-1' });
    // another artifact is claimed separately
    expect('held' in (await claims.claim('sha256:bb'))).toBe(true);
    await first.held.release();
    expect(await readClaim(second.file)).toBe('gone');
    expect('held' in (await claims.claim('sha256:aa'))).toBe(true);
  });

  it('claims go on working after orphan cleanup removed their directory', async () => {
    const claims = new FetchClaims(root);
    const first = await claims.claim('sha256:dd');
    if (!('held' in first)) throw new Error('expected to hold the claim');
    await first.held.release();
    rmSync(path.join(root, 'tmp', 'on-demand-claims'), { recursive: true });
    expect('held' in (await claims.claim('sha256:dd'))).toBe(true);
  });

  it("a claim whose owner on this machine has died is taken over; another machine's is not", async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const claims = new FetchClaims(root);
    const taken = await claims.claim('sha256:cc');
    if (!('held' in taken)) throw new Error('expected to hold the claim');
    const follower = await claims.claim('sha256:cc');
    if ('held' in follower) throw new Error('expected the claim to be taken');
    const file = follower.file;
    writeFileSync(file, JSON.stringify({ host: hostname(), pid: deadPid }));
    const again = await claims.claim('sha256:cc');
    expect('held' in again).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ host: hostname(), pid: process.pid });

    writeFileSync(file, JSON.stringify({ host: 'another-host.example', pid: deadPid }));
    const elsewhere = await claims.claim('sha256:cc');
    expect('held' in elsewhere).toBe(false);
    expect(elsewhere).toMatchObject({ owner: { host: 'another-host.example', pid: deadPid } });
  });
});
