import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/migrate.js` of the build under test (what `npm run migrate` runs after building). */
export function runMigrate(env: Record<string, string>, timeoutMs = 60_000): Promise<ScriptResult> {
  return runNode(join(dirname(inject('mainPath')), 'migrate.js'), env, timeoutMs);
}

/** Runs a script of the build to its end, whatever its exit code. */
export function runNode(script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<ScriptResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
