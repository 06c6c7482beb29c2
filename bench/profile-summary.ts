/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [--from=<s>] [--to=<s>]`: a CPU profile
 * (`node --cpu-prof`) summarised as the functions and the packages (or Parley's own files) with the
 * most self time, and the functions with the most total time (self plus what they call), in % of
 * the samples. A profile covers the whole life of its process (start-up, seeding, idle time between
 * scenarios): it first prints how busy the process was in each second since the profile started,
 * and `--from`/`--to` (seconds on that timeline) keep the summary to the measurement's window.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<package> (scoped too), Parley's own dist/ or src/ file, Node's internals, or V8's pseudo-frames. */
function placeOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) {
    return pkg[1];
  }
  const own = /\/(?:dist|src)\/(.+)$/.exec(url);
  if (own?.[1] !== undefined) {
    return `parley:${own[1].replace(/\.js$/, '')}`;
  }
  if (url.startsWith('node:')) {
    return url.split('/').slice(0, 2).join('/');
  }
  return url === '' ? `(${functionName.replace(/[()]/g, '') || 'native'})` : url;
}

function table(title: string, totals: Map<string, number>, all: number, top: number): void {
  console.log(`\n${title}`);
  for (const [name, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((micros / all) * 100).toFixed(1).padStart(6)} %  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    );
  }
}

const { values: window, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' } },
});
const [file, topArg] = positionals;
if (file === undefined) {
  throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top] [--from=<s>] [--to=<s>]');
}
const top = Number(topArg ?? 25);
const fromMicros = Number(window.from ?? 0) * 1e6;
const toMicros = window.to === undefined ? Number.POSITIVE_INFINITY : Number(window.to) * 1e6;
if (!Number.isFinite(fromMicros) || Number.isNaN(toMicros)) {
  throw new Error('--from and --to take seconds since the profile started, e.g. --from=7 --to=22');
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  for (const child of node.children ?? []) {
    parent.set(child, node.id);
  }
}
const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'}  ${placeOf(url, functionName)}:${lineNumber + 1}`;
};

const selfByFunction = new Map<string, number>();
const selfByPlace = new Map<string, number>();
const totalByFunction = new Map<string, number>();
/** Per second since the profile started: the time sampled, and the part of it not idle. */
const seconds: Array<{ sampled: number; busy: number }> = [];
let all = 0;
let idle = 0;
let at = 0;
profile.samples.forEach((id, index) => {
  const micros = profile.timeDeltas[index] ?? 0;
  at += micros;
  const node = byId.get(id);
  if (node === undefined) {
    return;
  }
  const second = (seconds[Math.floor(at / 1e6)] ??= { sampled: 0, busy: 0 });
  second.sampled += micros;
  second.busy += node.callFrame.functionName === '(idle)' ? 0 : micros;
  if (at < fromMicros || at > toMicros) {
    return;
  }
  all += micros;
  if (node.callFrame.functionName === '(idle)') {
    idle += micros;
  }
  const add = (map: Map<string, number>, key: string): void => {
    map.set(key, (map.get(key) ?? 0) + micros);
  };
  add(selfByFunction, label(node));
  add(selfByPlace, placeOf(node.callFrame.url, node.callFrame.functionName));
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at);
    if (frame === undefined) {
      break;
    }
    const key = label(frame);
    if (!seen.has(key)) {
      seen.add(key);
      add(totalByFunction, key);
    }
  }
});
const busyBySecond = [...seconds.entries()].map(
  ([second, time]) =>
    `${second}:${time === undefined || time.sampled === 0 ? 0 : Math.round((time.busy / time.sampled) * 100)}`,
);
console.log(`busy % per second since the profile started: ${busyBySecond.join(' ')}`);
if (all === 0) {
  throw new Error(`no samples between --from and --to: the profile spans ${seconds.length} s`);
}
const span =
  window.from === undefined && window.to === undefined
    ? ''
    : ` from ${window.from ?? 0} s to ${window.to === undefined ? 'the end' : `${window.to} s`}`;
console.log(`${file}${span}: ${(all / 1e6).toFixed(1)} s sampled, ${((idle / all) * 100).toFixed(1)} % idle`);
table('self time by package / file', selfByPlace, all, top);
table('self time by function', selfByFunction, all, top);
totalByFunction.delete(label(profile.nodes[0] as ProfileNode));
table('total time by function', totalByFunction, all, top);
