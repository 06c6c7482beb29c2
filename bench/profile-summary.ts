/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [--from=<s>] [--to=<s>]`: a CPU profile
 * (`node --cpu-prof`) summarised as the functions and the packages (or Parley's own files) with the
 * most self time, and the functions with the most total time (self plus what they call), in % of
 * the samples. A profile covers the whole life of its process (start-up, seeding, idle time between
 * scenarios): it first prints how busy the process was in each second since the profile started,
 * and `--from`/`--to` (seconds on that timeline) keep the summary to the measurement's window.
 *
 * `--against=<other.cpuprofile>` (with `--against-from`/`--against-to` for its window) compares two
 * processes that served the same requests, Parley and one of the bench's NestJS floors
 * (`BENCH_FLOOR_NODE_ARGS`), in microseconds of each one's busy time per request: `--requests` and
 * `--against-requests` give how many each answered in its window (requestsPerSecond times
 * BENCH_DURATION_S, from the bench's table). Packages, files and functions come by how far the two
 * differ on them, either way: what the first's requests cost beyond the framework's, and where the
 * framework's cost more (the floor's body, a string, is written by another call than Parley's bytes).
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

/** A profile's samples within a window (seconds since the profile started), by function and by place. */
interface Summary {
  /** Time sampled in the window, and the part of it idle (µs). */
  all: number;
  idle: number;
  /** Per second since the profile started: the time sampled, and the part of it not idle. */
  seconds: Array<{ sampled: number; busy: number }>;
  selfByFunction: Map<string, number>;
  selfByPlace: Map<string, number>;
  totalByFunction: Map<string, number>;
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  const parsed = value === undefined ? fallback : Number(value) * 1e6;
  if (Number.isNaN(parsed)) {
    throw new Error(`${flag} takes seconds since the profile started, e.g. ${flag}=7`);
  }
  return parsed;
}

function summarise(file: string, fromMicros: number, toMicros: number): Summary {
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
  const summary: Summary = {
    all: 0,
    idle: 0,
    seconds: [],
    selfByFunction: new Map(),
    selfByPlace: new Map(),
    totalByFunction: new Map(),
  };
  let at = 0;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    at += micros;
    const node = byId.get(id);
    if (node === undefined) {
      return;
    }
    const second = (summary.seconds[Math.floor(at / 1e6)] ??= { sampled: 0, busy: 0 });
    second.sampled += micros;
    second.busy += node.callFrame.functionName === '(idle)' ? 0 : micros;
    if (at < fromMicros || at > toMicros) {
      return;
    }
    summary.all += micros;
    if (node.callFrame.functionName === '(idle)') {
      summary.idle += micros;
    }
    const add = (map: Map<string, number>, key: string): void => {
      map.set(key, (map.get(key) ?? 0) + micros);
    };
    add(summary.selfByFunction, label(node));
    add(summary.selfByPlace, placeOf(node.callFrame.url, node.callFrame.functionName));
    const seen = new Set<string>();
    for (let frame: number | undefined = id; frame !== undefined; frame = parent.get(frame)) {
      const caller = byId.get(frame);
      if (caller === undefined) {
        break;
      }
      const key = label(caller);
      if (!seen.has(key)) {
        seen.add(key);
        add(summary.totalByFunction, key);
      }
    }
  });
  if (profile.nodes[0] !== undefined) {
    summary.totalByFunction.delete(label(profile.nodes[0]));
  }
  const busyBySecond = [...summary.seconds.entries()].map(
    ([second, time]) =>
      `${second}:${time === undefined || time.sampled === 0 ? 0 : Math.round((time.busy / time.sampled) * 100)}`,
  );
  console.log(`${file}: busy % per second since the profile started: ${busyBySecond.join(' ')}`);
  if (summary.all === 0) {
    throw new Error(`${file}: no samples in the window: the profile spans ${summary.seconds.length} s`);
  }
  return summary;
}

/** Self time per request of two summaries, by place: the first's, the second's, and what the first spends more. */
function comparison(
  title: string,
  a: Map<string, number>,
  perA: number,
  b: Map<string, number>,
  perB: number,
  top: number,
): void {
  console.log(`\n${title} (µs per request: first, second, first − second; largest differences first)`);
  // Idle time is no request's cost.
  const names = [...new Set([...a.keys(), ...b.keys()])].filter((name) => !name.startsWith('(idle)'));
  const rows = names.map((name) => {
    const first = (a.get(name) ?? 0) / perA;
    const second = (b.get(name) ?? 0) / perB;
    return { name, first, second, more: first - second };
  });
  for (const { name, first, second, more } of rows.sort((x, y) => Math.abs(y.more) - Math.abs(x.more)).slice(0, top)) {
    console.log(
      `${first.toFixed(2).padStart(8)} ${second.toFixed(2).padStart(8)} ${more.toFixed(2).padStart(8)}  ${name}`,
    );
  }
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    requests: { type: 'string' },
    against: { type: 'string' },
    'against-from': { type: 'string' },
    'against-to': { type: 'string' },
    'against-requests': { type: 'string' },
  },
});
const [file, topArg] = positionals;
if (file === undefined) {
  throw new Error(
    'usage: tsx bench/profile-summary.ts <file.cpuprofile> [top] [--from=<s>] [--to=<s>] ' +
      '[--requests=<n> --against=<other.cpuprofile> [--against-from=<s>] [--against-to=<s>] --against-requests=<n>]',
  );
}
const top = Number(topArg ?? 25);
const summary = summarise(file, seconds(flags.from, 0, '--from'), seconds(flags.to, Number.POSITIVE_INFINITY, '--to'));
if (flags.against !== undefined) {
  const requests = Number(flags.requests);
  const againstRequests = Number(flags['against-requests']);
  if (!(requests > 0) || !(againstRequests > 0)) {
    throw new Error('--against needs --requests and --against-requests: how many requests each answered in its window');
  }
  const against = summarise(
    flags.against,
    seconds(flags['against-from'], 0, '--against-from'),
    seconds(flags['against-to'], Number.POSITIVE_INFINITY, '--against-to'),
  );
  const busy = (s: Summary, n: number): string => ((s.all - s.idle) / n).toFixed(1);
  console.log(
    `busy µs per request: ${busy(summary, requests)} (${file}), ${busy(against, againstRequests)} (${flags.against})`,
  );
  comparison('self time by package / file', summary.selfByPlace, requests, against.selfByPlace, againstRequests, top);
  comparison('self time by function', summary.selfByFunction, requests, against.selfByFunction, againstRequests, top);
} else {
  const span =
    flags.from === undefined && flags.to === undefined
      ? ''
      : ` from ${flags.from ?? 0} s to ${flags.to === undefined ? 'the end' : `${flags.to} s`}`;
  console.log(
    `${file}${span}: ${(summary.all / 1e6).toFixed(1)} s sampled, ${((summary.idle / summary.all) * 100).toFixed(1)} % idle`,
  );
  table('self time by package / file', summary.selfByPlace, summary.all, top);
  table('self time by function', summary.selfByFunction, summary.all, top);
  table('total time by function', summary.totalByFunction, summary.all, top);
}
