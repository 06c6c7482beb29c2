// `npm start` runs this first: it compiles src/ into dist/ only when a source changed since the
// last build (a restart is then only the start), and never deletes dist/ under a running Parley:
// the new build is made in a folder of its own and swapped in with two renames.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const DIST = join(root, 'dist');
const STAMP = '.build-stamp';
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function* files(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      yield* files(join(path, entry));
    }
  } else if (stat?.isFile() && !path.endsWith('.spec.ts')) {
    yield [relative(root, path), stat];
  }
}

/** Names, sizes and modification times of every input: any edit, addition or removal changes it. */
function fingerprint() {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const [path, stat] of files(join(root, input))) {
      hash.update(`${path}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  }
  return hash.digest('hex');
}

const current = fingerprint();
const built = existsSync(join(DIST, STAMP)) ? readFileSync(join(DIST, STAMP), 'utf8') : undefined;
if (built === current) {
  process.exit(0);
}

const next = join(root, `.dist-next-${process.pid}`);
const old = join(root, `.dist-old-${process.pid}`);
rmSync(next, { recursive: true, force: true });
process.stderr.write(built === undefined ? 'Building dist/ …\n' : 'Sources changed: rebuilding dist/ …\n');
try {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', next],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
} catch {
  rmSync(next, { recursive: true, force: true });
  process.exit(1);
}
writeFileSync(join(next, STAMP), current);
if (existsSync(DIST)) {
  renameSync(DIST, old);
}
renameSync(next, DIST);
rmSync(old, { recursive: true, force: true });
