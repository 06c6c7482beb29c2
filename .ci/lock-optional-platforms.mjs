/**
 * `node .ci/lock-optional-platforms.mjs package-lock.json`
 *
 * A registry mirror that does not carry every platform build of a package (e.g. @swc/core for
 * darwin or win32) makes `npm install` leave those optional entries out of the lock file, and
 * `npm ci` then refuses the lock as out of sync. This restores each missing optional platform
 * entry (version, os, cpu; no tarball), which npm skips on every other platform. Run it after
 * `npm install` has rewritten the lock.
 */
import fs from 'node:fs';

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;

function platformOf(name) {
  const base = name.split('/').pop();
  const os = base.includes('darwin')
    ? 'darwin'
    : base.includes('win32')
      ? 'win32'
      : base.includes('freebsd')
        ? 'freebsd'
        : 'linux';
  const cpu = /arm64|aarch64/.test(base)
    ? 'arm64'
    : /ia32/.test(base)
      ? 'ia32'
      : /ppc64/.test(base)
        ? 'ppc64'
        : /s390x/.test(base)
          ? 's390x'
          : /-arm(-|$)|gnueabihf/.test(base)
            ? 'arm'
            : 'x64';
  return { os, cpu };
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [dependency, version] of Object.entries(meta.optionalDependencies ?? {})) {
    if (packages[`node_modules/${dependency}`] || packages[`${path}/node_modules/${dependency}`]) {
      continue;
    }
    const { os, cpu } = platformOf(dependency);
    packages[`node_modules/${dependency}`] = {
      version: version.replace(/^[\^~]/, ''),
      cpu: [cpu],
      ...(meta.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
    };
    added += 1;
  }
}
const sorted = {};
for (const key of Object.keys(packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))) {
  sorted[key] = packages[key];
}
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`restored ${added} optional platform entries`);
