import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    mainPath: string;
  }
}

const root = resolve(import.meta.dirname, '../..');

/**
 * Compiles the app once per run into a folder of its own, so that the app processes that the
 * tests start run exactly the code under test, whatever else rebuilds `dist/` meanwhile.
 */
export default function setup(project: TestProject): () => void {
  const outDir = join(root, '.test-build', `run-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  project.provide('mainPath', join(outDir, 'main.js'));
  return () => rmSync(outDir, { recursive: true, force: true });
}
