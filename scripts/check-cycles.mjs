#!/usr/bin/env node
// Fails when the source of a package has an import cycle between files, or between the folders
// directly under its src/ (files at the top of src/ count as folders of their own). Type-only
// imports count: a cycle of types is still two concepts that cannot be read apart.
// Usage: node scripts/check-cycles.mjs [packages/*]
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const packageDirs = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(path.join(root, 'packages')).map((name) => path.join('packages', name));

function sourceFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) files.push(...sourceFiles(full));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) files.push(full);
  }
  return files;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;

function resolveImport(from, specifier) {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Strongly connected components of more than one node (or a node importing itself). */
function cycles(graph) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), indices.get(next)));
    }
    if (low.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

/** An edge of `graph` inside `component`, to show where a cycle runs. */
function edgesWithin(graph, component, sources) {
  const members = new Set(component);
  const edges = [];
  for (const node of component) {
    for (const next of graph.get(node) ?? []) {
      if (members.has(next) && next !== node) edges.push(`    ${node} -> ${next}${sources ? `  (${[...(sources.get(`${node}\0${next}`) ?? [])].slice(0, 3).join(', ')})` : ''}`);
    }
  }
  return edges;
}

let failures = 0;
for (const packageDir of packageDirs) {
  const src = path.join(root, packageDir, 'src');
  if (!existsSync(src)) continue;
  const fileGraph = new Map();
  const folderGraph = new Map();
  const folderEdgeSources = new Map();
  const folderOf = (file) => {
    const rel = path.relative(src, file);
    const [first, ...rest] = rel.split(path.sep);
    return rest.length === 0 ? first : `${first}/`;
  };
  for (const file of sourceFiles(src)) {
    const rel = path.relative(src, file);
    const targets = new Set();
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolveImport(file, match[1]);
      if (target === undefined || !target.startsWith(src + path.sep)) continue;
      targets.add(path.relative(src, target));
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from === to) continue;
      if (!folderGraph.has(from)) folderGraph.set(from, new Set());
      folderGraph.get(from).add(to);
      const key = `${from}\0${to}`;
      if (!folderEdgeSources.has(key)) folderEdgeSources.set(key, new Set());
      folderEdgeSources.get(key).add(rel);
    }
    fileGraph.set(rel, targets);
  }
  for (const component of cycles(fileGraph)) {
    failures++;
    console.error(`${packageDir}: file import cycle:\n${edgesWithin(fileGraph, component).join('\n')}`);
  }
  for (const component of cycles(folderGraph)) {
    failures++;
    console.error(`${packageDir}: folder import cycle between ${component.join(', ')}:\n${edgesWithin(folderGraph, component, folderEdgeSources).join('\n')}`);
  }
}
if (failures > 0) {
  console.error(`check-cycles: ${failures} import cycle(s)`);
  process.exit(1);
}
console.log(`check-cycles: no import cycles in ${packageDirs.length} packages`);
