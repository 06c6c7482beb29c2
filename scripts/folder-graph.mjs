// The import graph between the folders of src/ (every relative import, type-only ones included),
// and the folder cycles in it. `node scripts/folder-graph.mjs` prints the cycles and exits 1 if
// there is one; `--graph` prints every folder's imports first.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '../src');
const IMPORT = /(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/gs;

function sources(folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) {
      return sources(path);
    }
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The top-level folder under src/ of a file; undefined for a file at the root (main.ts, app.module.ts). */
function folderOf(path) {
  const parts = relative(root, path).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

const edges = new Map();
const examples = new Map();
for (const file of sources(root)) {
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    const from = folderOf(file);
    const to = folderOf(resolve(dirname(file), specifier));
    if (from === undefined || to === undefined || from === to) {
      continue;
    }
    if (!edges.has(from)) {
      edges.set(from, new Set());
    }
    edges.get(from).add(to);
    const edge = `${from} -> ${to}`;
    examples.set(edge, [...(examples.get(edge) ?? []), `${relative(root, file)} imports ${specifier}`]);
  }
}
const folders = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((targets) => [...targets])])].sort();

if (process.argv.includes('--graph')) {
  for (const folder of folders) {
    console.log(`${folder} -> ${[...(edges.get(folder) ?? [])].sort().join(', ')}`);
  }
}

// Strongly connected components (Tarjan): a component of more than one folder is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(folder) {
  index.set(folder, counter);
  low.set(folder, counter);
  counter += 1;
  stack.push(folder);
  onStack.add(folder);
  for (const next of edges.get(folder) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(folder, Math.min(low.get(folder), low.get(next)));
    } else if (onStack.has(next)) {
      low.set(folder, Math.min(low.get(folder), index.get(next)));
    }
  }
  if (low.get(folder) === index.get(folder)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== folder);
    if (component.length > 1) {
      cycles.push(component.sort());
    }
  }
}
for (const folder of folders) {
  if (!index.has(folder)) {
    visit(folder);
  }
}

if (cycles.length === 0) {
  console.log(`no folder cycles among ${folders.length} folders`);
}
for (const cycle of cycles) {
  console.log(`cycle: ${cycle.join(', ')}`);
  for (const from of cycle) {
    for (const to of edges.get(from) ?? []) {
      if (cycle.includes(to)) {
        console.log(`  ${from} -> ${to}: ${examples.get(`${from} -> ${to}`).slice(0, 3).join('; ')}`);
      }
    }
  }
}
process.exitCode = cycles.length === 0 ? 0 : 1;
