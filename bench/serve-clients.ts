/**
 * Many concurrent slow downloads, in their own process (so their CPU and memory are not the
 * benchmark's): `node serve-clients.js '{"urls":[…],"clients":200,"bytesPerSecond":N,"maxSeconds":S}'`.
 * Client `i` downloads `urls[i % urls.length]` once, reading at most `bytesPerSecond` (it pauses the
 * response when ahead, so the server meets backpressure), and gives up after `maxSeconds`.
 * Prints one JSON line: completed, cut short, statuses, bytes, seconds.
 */
import http from 'node:http';

interface ClientsTask {
  readonly urls: readonly string[];
  readonly clients: number;
  readonly bytesPerSecond: number;
  readonly maxSeconds: number;
}

export interface ClientsResult {
  readonly clients: number;
  readonly completed: number;
  /** Ended before the whole body (by the deadline, or cut by the server). */
  readonly incomplete: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly bytes: number;
  readonly seconds: number;
  readonly errors: string[];
}

function download(url: string, task: ClientsTask, agent: http.Agent, deadline: number): Promise<{ status: number | string; bytes: number; complete: boolean; error?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    let bytes = 0;
    let expected = -1;
    let status: number | string = 'none';
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, bytes, complete: expected >= 0 && bytes === expected, ...(error ? { error } : {}) });
    };
    const request = http.get(url, { agent }, (response) => {
      status = response.statusCode ?? 'none';
      expected = Number(response.headers['content-length'] ?? -1);
      const start = Date.now();
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        const ahead = (bytes / task.bytesPerSecond) * 1000 - (Date.now() - start);
        if (ahead > 10) {
          response.pause();
          setTimeout(() => response.resume(), ahead);
        }
      });
      response.on('end', () => finish());
      response.on('error', (error) => finish(error.message));
      response.on('close', () => finish(bytes === expected ? undefined : 'closed early'));
    });
    request.on('error', (error) => finish(error.message));
    const timer = setTimeout(() => {
      request.destroy();
      finish('deadline');
    }, deadline - Date.now());
  });
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as ClientsTask;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const started = Date.now();
  const deadline = started + task.maxSeconds * 1000;
  const results = await Promise.all(Array.from({ length: task.clients }, (_, i) => download(task.urls[i % task.urls.length]!, task, agent, deadline)));
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
  const result: ClientsResult = {
    clients: task.clients,
    completed: results.filter((r) => r.complete).length,
    incomplete: results.filter((r) => !r.complete && r.status === 200).length,
    failed: results.filter((r) => r.status !== 200).length,
    statuses,
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    seconds: (Date.now() - started) / 1000,
    errors: [...new Set(results.flatMap((r) => (r.error ? [r.error] : [])))].slice(0, 5),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

void main();
