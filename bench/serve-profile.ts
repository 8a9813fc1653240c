/**
 * Summarises V8 CPU profiles (`node --cpu-prof`) of a serve process: self time by function, and
 * total (inclusive) time of the functions that matter, top N each.
 *
 *   BENCH_SCENARIOS=a BENCH_SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:serve
 *   node .cache/bench-dist/serve-profile.js /tmp/prof/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const url = frame.url.replace(/^file:\/\//, '');
  const short = url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 'node_modules/'.length) : url.includes('/packages/') ? url.slice(url.indexOf('/packages/') + 1) : path.basename(url);
  return `${name} ${short}:${frame.lineNumber + 1}`;
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + us);
    // each function on the stack once, however often it recurses
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  const row = ([name, us]: [string, number]) => `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${name}`;
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled on the main thread, ${(busy / 1e6).toFixed(2)} s busy (percentages are of busy time)\n`);
  process.stdout.write(`self time, top ${top}:\n`);
  for (const entry of [...self].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${row(entry)}\n`);
  process.stdout.write(`inclusive time, top ${top} (not counting the roots):\n`);
  for (const entry of [...inclusive].filter(([n]) => !/^\((root|idle|program)\)/.test(n)).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${row(entry)}\n`);
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
for (const file of positionals) summarise(file, Number(values.top));
